//! Where an S3 blob store is: `s3://BUCKET/PREFIX`.

/// Where an S3 blob store is: bucket and key prefix, and settings beside the environment's.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix (may be empty).
    pub prefix: String,
    /// `object_store` S3 settings applied over the `AWS_*` environment variables, named as
    /// those are (`aws_endpoint_url`, `aws_access_key_id`...).
    pub settings: Vec<(String, String)>,
}

impl std::fmt::Debug for S3Location {
    /// Setting names only: the values hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.settings.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("settings", &names)
            .finish()
    }
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`; `None` if `raw` is not an `s3://` URL.
    pub fn parse(raw: &str) -> Option<Result<Self, String>> {
        let rest = raw.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(format!("{raw}: no bucket")));
        }
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            settings: Vec::new(),
        }))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}
