//! `oftsniff -D`: the interfaces a capture can be started on, one per line, in the spirit
//! of `tcpdump -D`.

use std::fmt;

use pnet::datalink;

/// One network interface as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    pub index: u32,
    pub name: String,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    pub mac: Option<String>,
    /// Addresses with prefix length, e.g. `198.18.0.1/24`.
    pub addrs: Vec<String>,
}

/// Every interface of the current network namespace, ordered by kernel index.
pub fn list_interfaces() -> Vec<InterfaceInfo> {
    let mut list: Vec<InterfaceInfo> = datalink::interfaces()
        .into_iter()
        .map(|ni| InterfaceInfo {
            index: ni.index,
            up: ni.is_up(),
            running: ni.is_running(),
            loopback: ni.is_loopback(),
            mac: ni.mac.filter(|m| !m.is_zero()).map(|m| m.to_string()),
            addrs: ni
                .ips
                .iter()
                .map(|ip| format!("{}/{}", ip.ip(), ip.prefix()))
                .collect(),
            name: ni.name,
        })
        .collect();
    list.sort_by_key(|i| i.index);
    list
}

/// The index of the loopback interface a capture on `iface` sees (`None`: every
/// interface, `-i any`), if it sees one.
pub(super) fn loopback_index(iface: Option<&str>) -> Option<i32> {
    datalink::interfaces()
        .into_iter()
        .find(|ni| ni.is_loopback() && iface.is_none_or(|name| ni.name == name))
        .and_then(|ni| i32::try_from(ni.index).ok())
}

impl fmt::Display for InterfaceInfo {
    /// `eth0 [Up, Running] 52:54:00:12:34:56 198.18.0.1/24 fe80::1/64`: no number, since
    /// the list (`-D`) numbers its lines as `tcpdump -D` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut flags = Vec::new();
        if self.up {
            flags.push("Up");
        }
        if self.running {
            flags.push("Running");
        }
        if self.loopback {
            flags.push("Loopback");
        }
        f.write_str(&self.name)?;
        if !flags.is_empty() {
            write!(f, " [{}]", flags.join(", "))?;
        }
        if let Some(mac) = &self.mac {
            write!(f, " {mac}")?;
        }
        for a in &self.addrs {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
