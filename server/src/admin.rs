//! Administration: regions and groups, one-time enrollment codes, devices, and publishing
//! checklist templates. The CLI's `siteproof admin` commands are thin wrappers over this.

use std::sync::Arc;
use std::time::Duration;

use automerge::{ActorId, ROOT};
use siteproof_core::{DeviceId, RecordHeader, RecordId, RecordKind, Scope, Template, model::now};

use crate::error::{Error, Result};
use crate::ids::{GroupId, RegionCode};
use crate::secret;
use crate::storage::{
    DeviceRecord, EnrollmentCodeRecord, GroupRecord, RecordWrite, SyncStorage, TemplateVersion,
};

/// How long an enrollment code stays valid unless told otherwise.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(24 * 3600);

/// A freshly issued enrollment code: the only time the code itself is seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code to give to the inspector (e.g. `7K3M-Q9TX-2HDA-W4R`).
    pub code: String,
    /// The group the device will join.
    pub group: GroupId,
    /// When it stops working, ms since the Unix epoch.
    pub expires_at: i64,
}

/// The back office's administrative operations.
pub struct AdminService {
    storage: Arc<dyn SyncStorage>,
}

impl AdminService {
    /// A service over `storage`.
    pub fn new(storage: Arc<dyn SyncStorage>) -> Self {
        Self { storage }
    }

    /// Creates a group in `region` (created too if new). Without `id`, a random one is made.
    pub async fn create_group(
        &self,
        region: RegionCode,
        name: &str,
        id: Option<GroupId>,
    ) -> Result<GroupRecord> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::InvalidInput("a group needs a printable name".into()));
        }
        let group = GroupRecord {
            id: id.unwrap_or_else(GroupId::random),
            region,
            name: name.to_string(),
            created_at: now(),
        };
        self.storage.create_group(&group).await?;
        Ok(group)
    }

    /// Every group.
    pub async fn list_groups(&self) -> Result<Vec<GroupRecord>> {
        Ok(self.storage.list_groups().await?)
    }

    /// Issues a one-time code enrolling one device into `group`, valid for `ttl`.
    pub async fn issue_enrollment_code(
        &self,
        group: &GroupId,
        ttl: Duration,
    ) -> Result<IssuedCode> {
        if self.storage.group(group).await?.is_none() {
            return Err(Error::UnknownGroup(group.to_string()));
        }
        let ttl_ms = i64::try_from(ttl.as_millis())
            .map_err(|_| Error::InvalidInput("the code's lifetime is too long".into()))?;
        let created_at = now();
        let code = secret::new_enrollment_code();
        let record = EnrollmentCodeRecord {
            code_hash: secret::enrollment_code_hash(&code),
            group: group.clone(),
            created_at,
            expires_at: created_at.saturating_add(ttl_ms),
        };
        self.storage.add_enrollment_code(&record).await?;
        Ok(IssuedCode {
            code,
            group: group.clone(),
            expires_at: record.expires_at,
        })
    }

    /// Every device, revoked ones included.
    pub async fn list_devices(&self) -> Result<Vec<DeviceRecord>> {
        Ok(self.storage.list_devices().await?)
    }

    /// Revokes a device: its token stops working at once. What it pushed stays.
    pub async fn revoke_device(&self, id: &DeviceId) -> Result<()> {
        if self.storage.revoke_device(id, now()).await? {
            tracing::info!(device = %id, "device revoked");
            Ok(())
        } else {
            Err(Error::UnknownDevice(id.to_string()))
        }
    }

    /// Publishes a template version for every region. Versions are immutable: publishing one
    /// that exists is a conflict.
    pub async fn publish_template(&self, template: &Template) -> Result<RecordId> {
        self.publish_template_from(template, None).await
    }

    /// Publishes a template version, deleting its library draft `from_draft` in the same
    /// write. A version is created once: publishing one that exists (even one another
    /// process publishes at this moment) is a conflict and writes nothing.
    pub async fn publish_template_from(
        &self,
        template: &Template,
        from_draft: Option<&TemplateVersion>,
    ) -> Result<RecordId> {
        template
            .validate()
            .map_err(|e| Error::InvalidInput(e.to_string()))?;
        let id = template.record_id();
        let header = RecordHeader {
            kind: RecordKind::Template,
            id: id.clone(),
            scope: Scope::global(),
        };
        let mut doc = header
            .create(ActorId::random())
            .map_err(|e| Error::Internal(e.to_string()))?;
        autosurgeon::reconcile_prop(&mut doc, ROOT, "template", template)
            .map_err(|e| Error::Internal(e.to_string()))?;
        doc.commit();
        let changes = doc
            .get_changes(&[])
            .into_iter()
            .map(|mut c| (c.hash().0, c.bytes().into_owned()))
            .collect();
        let record = RecordWrite {
            header,
            changes,
            known_through: 0,
            snapshot: Some(doc.save()),
        };
        self.storage
            .template_store()
            .publish_template(&record, from_draft)
            .await?;
        Ok(id)
    }
}
