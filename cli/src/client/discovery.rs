//! Finding a teammate on the local network by mDNS/DNS-SD (`mdns-sd`): `peer listen --name`
//! advertises an instance of [`SERVICE_TYPE`]; `peer connect NAME` browses for it and connects
//! to the address it resolves to. The advertisement carries only the name the user chose and
//! the protocol version: who is at the other end is proven by the session, not by mDNS.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::CliError;

/// The DNS-SD service type of a listening teammate.
pub const SERVICE_TYPE: &str = "_siteproof-peer._tcp.local.";

/// The protocol version announced in the TXT record (`v`).
const VERSION: &str = "1";

fn mdns(e: mdns_sd::Error) -> CliError {
    CliError::Usage(format!("local network discovery failed: {e}"))
}

/// The service record for a teammate listening as `name` on `ips` at `port`; with no
/// addresses, the daemon fills in those of every interface.
pub fn advertisement(name: &str, ips: &[IpAddr], port: u16) -> Result<ServiceInfo, CliError> {
    if name.is_empty() || name.len() > 63 || name.chars().any(char::is_control) {
        return Err(CliError::Usage(
            "the name must be 1 to 63 bytes of printable characters".into(),
        ));
    }
    // A host label of letters, digits and dashes, unique enough on one network.
    let host: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let host = format!("siteproof-{}-{port}.local.", host.trim_matches('-'));
    let info = ServiceInfo::new(SERVICE_TYPE, name, &host, ips, port, &[("v", VERSION)][..])
        .map_err(mdns)?;
    Ok(if ips.is_empty() {
        info.enable_addr_auto()
    } else {
        info
    })
}

/// An advertisement that lasts until dropped.
pub struct Advertised {
    daemon: ServiceDaemon,
}

impl Drop for Advertised {
    fn drop(&mut self) {
        // Best effort: the process is ending the session anyway.
        let _ = self.daemon.shutdown();
    }
}

fn daemon(loopback: bool) -> Result<ServiceDaemon, CliError> {
    let daemon = ServiceDaemon::new().map_err(mdns)?;
    if loopback {
        daemon.enable_interface(IfKind::LoopbackV4).map_err(mdns)?;
    }
    Ok(daemon)
}

/// Advertises `name` for the listener at `addr` (all interfaces for an unspecified address).
pub fn advertise(name: &str, addr: SocketAddr) -> Result<Advertised, CliError> {
    let ips: Vec<IpAddr> = if addr.ip().is_unspecified() {
        Vec::new()
    } else {
        vec![addr.ip()]
    };
    let daemon = daemon(addr.ip().is_loopback())?;
    daemon
        .register(advertisement(name, &ips, addr.port())?)
        .map_err(mdns)?;
    Ok(Advertised { daemon })
}

/// Browses for the teammate advertised as `name` for at most `wait`; the first address it
/// resolves to (IPv4 first). The loopback interface is searched too (a teammate on the same
/// machine, and tests).
pub fn find(name: &str, wait: Duration) -> Result<SocketAddr, CliError> {
    let daemon = daemon(true)?;
    let events = daemon.browse(SERVICE_TYPE).map_err(mdns)?;
    let wanted = advertisement(name, &[], 1)?.get_fullname().to_string();
    let deadline = Instant::now() + wait;
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(service)) if service.get_fullname() == wanted => {
                let addresses = service.get_addresses();
                let ip = addresses
                    .iter()
                    .find(|ip| ip.is_ipv4())
                    .or_else(|| addresses.iter().next())
                    .map(|ip| ip.to_ip_addr());
                if let Some(ip) = ip {
                    break Ok(SocketAddr::new(ip, service.get_port()));
                }
            }
            Ok(_) => {}
            Err(_) => {
                break Err(CliError::Usage(format!(
                    "no teammate named {name} answered on the local network within {} s",
                    wait.as_secs()
                )));
            }
        }
    };
    let _ = daemon.shutdown();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_advertisement_names_the_teammate_and_the_protocol_version() {
        let ip: IpAddr = "192.168.43.1".parse().expect("ip");
        let info = advertisement("张三 phone", &[ip], 7420).expect("record");
        assert_eq!(
            info.get_fullname(),
            "张三 phone._siteproof-peer._tcp.local."
        );
        assert_eq!(info.get_port(), 7420);
        assert_eq!(info.get_property_val_str("v"), Some("1"));
        assert!(info.get_addresses().contains(&ip));
        assert!(
            info.get_hostname().ends_with(".local."),
            "{}",
            info.get_hostname()
        );
        assert!(advertisement("", &[ip], 7420).is_err());
        assert!(advertisement("a\nb", &[ip], 7420).is_err());
        assert!(
            advertisement("all", &[], 7420)
                .expect("auto")
                .is_addr_auto()
        );
    }
}
