//! The pump's network (issue 23), from the hardware profile's `[network]` table and the
//! endpoints of `[integration]`, as the files the image writes at boot (`titra network-config`,
//! run by titra-network.service before the network comes up):
//! - `10-titra.network` for systemd-networkd: DHCP on the wired port, or the static address;
//! - `titra.nft` for nftables: nothing comes in but answers; nothing goes out but DHCP, DNS,
//!   NTP to the configured time servers, and TCP to the configured interface engines and FHIR
//!   servers (`policy drop` otherwise);
//! - `titra.sources` for chrony: the configured time servers (DEC's times need a kept clock).
//!
//! The pump works fully with no network: delivery never depends on any of this.

use std::net::IpAddr;

use serde::Deserialize;

use super::hardware::IntegrationConfig;

/// `[network]`: how the pump joins the hospital's network (absent: DHCP, no time server).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// A static address with its prefix ("10.20.30.41/24"); absent, DHCP.
    #[serde(default)]
    pub address: Option<String>,
    /// The default gateway, with a static address.
    #[serde(default)]
    pub gateway: Option<String>,
    /// DNS servers (addresses), with a static address.
    #[serde(default)]
    pub dns: Vec<String>,
    /// NTP servers (addresses or host names) chrony keeps the clock by.
    #[serde(default)]
    pub ntp: Vec<String>,
}

/// A host name or an address: letters, digits, `-` and `.` (or an IP address, IPv6 without
/// brackets), 1 to 253: what a connection and a firewall rule can both be made from.
pub(crate) fn is_host(h: &str) -> bool {
    h.parse::<IpAddr>().is_ok()
        || (!h.is_empty()
            && h.len() <= 253
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !h.starts_with('-'))
}

/// Where an `http://` or `https://` URL connects: its host ([`is_host`]; an IPv6 address is
/// written in brackets in the URL and returned without them) and its port (the one given, 1 to
/// 65535, or the scheme's: 443 for https, 80 for http). The URL is parsed by the parser ureq
/// sends it with (`http::Uri`, which ureq re-exports), so the profile's check, the firewall's
/// rule and the FHIR sender agree on where it goes.
///
/// Refused, with what is wrong (a phrase the caller puts after the field and the value): a
/// scheme other than http or https, no host, a host that is not a name or an address, an
/// address in brackets that is not IPv6, a port that is not a number from 1 to 65535, and a
/// user or password (`user:password@`): the pump has no secret to send, and one written in the
/// profile would travel in every request.
pub(crate) fn url_host_port(url: &str) -> Result<(String, u16), String> {
    let default = if url.starts_with("https://") {
        443
    } else if url.starts_with("http://") {
        80
    } else {
        return Err("it does not start with http:// or https://".to_owned());
    };
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("it cannot be read as a URL ({e})"))?;
    let authority = uri.authority().map_or("", |a| a.as_str());
    if authority.contains('@') {
        return Err("it holds a user or password (user:password@)".to_owned());
    }
    let (host, rest) = match authority.strip_prefix('[') {
        Some(bracketed) => {
            let (inside, rest) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            if inside.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!(
                    "[{inside}] is not an IPv6 address (only an IPv6 address is written in brackets)"
                ));
            }
            (inside, rest)
        }
        None => authority
            .find(':')
            .map_or((authority, ""), |at| authority.split_at(at)),
    };
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    if !is_host(host) {
        return Err(format!(
            "its host \"{host}\" is not a host name or an address"
        ));
    }
    let port = match rest.strip_prefix(':') {
        None if rest.is_empty() => default,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(format!("its port \"{p}\" is not a number from 1 to 65535")),
        },
        None => return Err(format!("\"{rest}\" follows its host")),
    };
    Ok((host.to_owned(), port))
}

/// Whether `host` is a name (which only DNS turns into an address), not an address.
fn is_name(host: &str) -> bool {
    host.parse::<IpAddr>().is_err()
}

impl NetworkConfig {
    /// Why a value cannot be used, naming its key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(a) = &self.address {
            let ok = a.split_once('/').is_some_and(|(ip, prefix)| {
                let max = if ip.contains(':') { 128 } else { 32 };
                ip.parse::<IpAddr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= max)
            });
            if !ok {
                return Err(format!(
                    "network.address is \"{a}\"; it must be an address with its prefix, such as 10.20.30.41/24"
                ));
            }
            match &self.gateway {
                Some(g) if g.parse::<IpAddr>().is_ok() => {}
                Some(g) => {
                    return Err(format!("network.gateway is \"{g}\"; it must be an address"));
                }
                None => {
                    return Err("network.address needs network.gateway".to_owned());
                }
            }
        } else if self.gateway.is_some() || !self.dns.is_empty() {
            return Err(
                "network.gateway and network.dns are for a static address: give network.address, or leave them out for DHCP"
                    .to_owned(),
            );
        }
        for (i, d) in self.dns.iter().enumerate() {
            if d.parse::<IpAddr>().is_err() {
                return Err(format!(
                    "network.dns[{i}] is \"{d}\"; it must be an address"
                ));
            }
        }
        for (i, n) in self.ntp.iter().enumerate() {
            if !is_host(n) {
                return Err(format!(
                    "network.ntp[{i}] is \"{n}\"; it must be a host name or an address"
                ));
            }
        }
        if self.dns.len() > 8 || self.ntp.len() > 8 {
            return Err("network: at most 8 DNS and 8 NTP servers".to_owned());
        }
        for (i, n) in self.ntp.iter().enumerate() {
            self.resolvable(&format!("network.ntp[{i}]"), n, n)?;
        }
        Ok(())
    }

    /// Why an endpoint of `integration` cannot be reached on this network, naming its key: with
    /// a static address and no DNS server, one given by a host name (its name could never be
    /// turned into an address). Run after both tables' own checks (`HardwareConfig`'s).
    pub fn check_endpoints(&self, integration: &IntegrationConfig) -> Result<(), String> {
        for (i, e) in integration.mllp.iter().enumerate() {
            self.resolvable(&format!("integration.mllp[{i}].host"), &e.host, &e.host)?;
        }
        for (i, e) in integration.fhir.iter().enumerate() {
            // A URL that cannot be read is refused by IntegrationConfig::check, with the reason.
            if let Ok((host, _)) = url_host_port(&e.url) {
                self.resolvable(&format!("integration.fhir[{i}].url"), &e.url, &host)?;
            }
        }
        Ok(())
    }

    /// Refuses `key` (whose value is `value`) when its `host` is a name that cannot be
    /// resolved: a static address with no DNS server (DHCP brings the site's own).
    fn resolvable(&self, key: &str, value: &str, host: &str) -> Result<(), String> {
        if self.address.is_none() || !self.dns.is_empty() || !is_name(host) {
            return Ok(());
        }
        let given = if value == host {
            format!("{key} is the host name \"{host}\"")
        } else {
            format!("{key} is \"{value}\", whose host \"{host}\" is a name")
        };
        Err(format!(
            "{given}, but a static network.address without network.dns has no DNS server to find its address: give network.dns, or the server's address instead of its name"
        ))
    }
}

/// The three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkFiles {
    pub networkd: String,
    pub nftables: String,
    pub chrony: String,
}

/// Where TCP may go: the host and port of each interface engine and FHIR server.
fn destinations(i: Option<&IntegrationConfig>) -> Vec<(String, u16, String)> {
    let Some(i) = i else {
        return Vec::new();
    };
    let mut out: Vec<(String, u16, String)> = i
        .mllp
        .iter()
        .map(|e| (e.host.clone(), e.port, e.name.clone()))
        .collect();
    for e in &i.fhir {
        // The URL's host and port as the sender connects to them (an IPv6 address without its
        // brackets). A URL the profile's check refuses gets no rule: the firewall keeps the
        // pump from it, as it keeps it from anything not named.
        if let Ok((host, port)) = url_host_port(&e.url) {
            out.push((host, port, e.name.clone()));
        }
    }
    out
}

/// The rule that lets TCP go to `host`:`port`: by address where the site gave one; for a host
/// name (which nftables cannot follow as DNS changes), to that port on any address.
fn tcp_rule(host: &str, port: u16, name: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            format!("    ip daddr {a} tcp dport {port} accept comment \"{name}\"\n")
        }
        Ok(IpAddr::V6(a)) => {
            format!("    ip6 daddr {a} tcp dport {port} accept comment \"{name}\"\n")
        }
        // The comment holds the endpoint's name only (letters, digits, - and _, at most 40):
        // nftables refuses a quote in a comment, and one over 128 bytes.
        Err(_) => {
            format!("    tcp dport {port} accept comment \"{name}: a host name, any address\"\n")
        }
    }
}

/// The files for `net` (absent: DHCP, no time server) and the endpoints of `integration`.
pub fn files(net: Option<&NetworkConfig>, integration: Option<&IntegrationConfig>) -> NetworkFiles {
    let default = NetworkConfig::default();
    let net = net.unwrap_or(&default);
    let mut networkd = String::from(
        "# Written at boot by titra network-config from /etc/titra/hardware.toml ([network]).\n[Match]\nName=eth* en*\n\n[Network]\n",
    );
    match (&net.address, &net.gateway) {
        (Some(a), Some(g)) => {
            networkd.push_str(&format!("Address={a}\nGateway={g}\n"));
            for d in &net.dns {
                networkd.push_str(&format!("DNS={d}\n"));
            }
        }
        _ => networkd.push_str("DHCP=yes\n"),
    }
    // The pump takes no router advertisements' routes for granted on a static address.
    networkd.push_str("LinkLocalAddressing=no\n");

    let mut out = String::new();
    out.push_str("    oif \"lo\" accept\n    ct state established,related accept\n");
    if net.address.is_none() {
        out.push_str("    udp sport 68 udp dport 67 accept comment \"DHCP\"\n");
    }
    if net.dns.is_empty() {
        // DHCP names the DNS servers, so DNS may go anywhere. A static address without DNS
        // servers names every server by its address (the profile's check): no DNS at all.
        if net.address.is_none() {
            out.push_str("    udp dport 53 accept comment \"DNS (from DHCP)\"\n    tcp dport 53 accept comment \"DNS (from DHCP)\"\n");
        }
    } else {
        for d in &net.dns {
            let family = if d.contains(':') { "ip6" } else { "ip" };
            out.push_str(&format!(
                "    {family} daddr {d} udp dport 53 accept comment \"DNS\"\n    {family} daddr {d} tcp dport 53 accept comment \"DNS\"\n"
            ));
        }
    }
    for n in &net.ntp {
        match n.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => out.push_str(&format!(
                "    ip daddr {a} udp dport 123 accept comment \"NTP\"\n"
            )),
            Ok(IpAddr::V6(a)) => out.push_str(&format!(
                "    ip6 daddr {a} udp dport 123 accept comment \"NTP\"\n"
            )),
            Err(_) => {
                out.push_str("    udp dport 123 accept comment \"NTP: a host name, any address\"\n")
            }
        }
    }
    for (host, port, name) in destinations(integration) {
        out.push_str(&tcp_rule(&host, port, &name));
    }
    out.push_str("    meta l4proto { icmp, ipv6-icmp } accept comment \"ping answers, neighbour discovery\"\n");
    let nftables = format!(
        "#!/usr/sbin/nft -f\n# Written at boot by titra network-config from /etc/titra/hardware.toml: the pump\n# answers, and reaches only its DHCP, DNS and time servers and the hospital's endpoints.\nflush ruleset\n\ntable inet titra {{\n  chain input {{\n    type filter hook input priority 0; policy drop;\n    iif \"lo\" accept\n    ct state established,related accept\n    udp sport 67 udp dport 68 accept comment \"DHCP\"\n    meta l4proto {{ icmp, ipv6-icmp }} accept comment \"ping, neighbour discovery\"\n  }}\n\n  chain forward {{\n    type filter hook forward priority 0; policy drop;\n  }}\n\n  chain output {{\n    type filter hook output priority 0; policy drop;\n{out}  }}\n}}\n"
    );
    let mut chrony = String::from(
        "# Written at boot by titra network-config from /etc/titra/hardware.toml ([network] ntp).\n",
    );
    if net.ntp.is_empty() {
        chrony.push_str("# No time server is configured: the clock is not kept (the pump's messages to the\n# hospital carry its times; give network.ntp).\n");
    }
    for n in &net.ntp {
        chrony.push_str(&format!("server {n} iburst\n"));
    }
    NetworkFiles {
        networkd,
        nftables,
        chrony,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::hardware::{FhirEndpoint, MllpEndpoint};

    fn integration() -> IntegrationConfig {
        IntegrationConfig {
            eui64: "B827EBFFFE123456".to_owned(),
            facility: "WARD7".to_owned(),
            mllp: vec![MllpEndpoint {
                name: "engine".to_owned(),
                host: "10.20.30.40".to_owned(),
                port: 2575,
                tls_ca: None,
            }],
            fhir: vec![FhirEndpoint {
                name: "records".to_owned(),
                url: "https://fhir.hospital.example:8443/r4".to_owned(),
                tls_ca: Some("/etc/titra/ca.pem".into()),
            }],
            backlog_alarm: 30,
            patient_system: Some("urn:oid:1.2.3".to_owned()),
        }
    }

    #[test]
    fn a_static_address_and_its_endpoints_make_these_files() {
        let net = NetworkConfig {
            address: Some("10.20.30.41/24".to_owned()),
            gateway: Some("10.20.30.1".to_owned()),
            dns: vec!["10.20.0.53".to_owned()],
            ntp: vec!["10.20.0.123".to_owned()],
        };
        net.check().unwrap();
        let f = files(Some(&net), Some(&integration()));
        assert!(
            f.networkd
                .contains("Address=10.20.30.41/24\nGateway=10.20.30.1\nDNS=10.20.0.53\n")
        );
        assert!(!f.networkd.contains("DHCP"));
        assert!(
            f.nftables
                .contains("ip daddr 10.20.30.40 tcp dport 2575 accept comment \"engine\"")
        );
        assert!(
            f.nftables
                .contains("tcp dport 8443 accept comment \"records: a host name, any address\"")
        );
        assert!(
            f.nftables
                .contains("ip daddr 10.20.0.123 udp dport 123 accept")
        );
        assert!(
            f.nftables
                .contains("ip daddr 10.20.0.53 udp dport 53 accept")
        );
        assert!(
            !f.nftables.contains("udp dport 67"),
            "no DHCP on a static address"
        );
        assert_eq!(f.nftables.matches("policy drop").count(), 3);
        assert_eq!(f.chrony.lines().last(), Some("server 10.20.0.123 iburst"));
    }

    #[test]
    fn more_endpoints_than_the_limit_are_refused_by_name() {
        let mut i = integration();
        i.mllp = (0..9)
            .map(|n| MllpEndpoint {
                name: format!("engine-{n}"),
                host: "10.20.30.40".to_owned(),
                port: 2575,
                tls_ca: None,
            })
            .collect();
        assert_eq!(
            i.check().unwrap_err(),
            "integration: 9 interface engines and 1 FHIR servers; at most 8 of each (one sender thread each)"
        );
    }

    #[test]
    fn without_a_network_table_it_is_dhcp_and_says_the_clock_is_not_kept() {
        let f = files(None, None);
        assert!(f.networkd.contains("DHCP=yes"));
        assert!(f.nftables.contains("udp sport 68 udp dport 67 accept"));
        assert!(!f.nftables.contains("tcp dport 2575"));
        assert!(f.chrony.contains("No time server is configured"));
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let bad = |n: NetworkConfig| n.check().unwrap_err();
        assert!(
            bad(NetworkConfig {
                address: Some("10.20.30.41".to_owned()),
                gateway: Some("10.20.30.1".to_owned()),
                ..Default::default()
            })
            .starts_with("network.address is \"10.20.30.41\"")
        );
        assert_eq!(
            bad(NetworkConfig {
                address: Some("10.20.30.41/24".to_owned()),
                ..Default::default()
            }),
            "network.address needs network.gateway"
        );
        assert!(
            bad(NetworkConfig {
                dns: vec!["10.0.0.53".to_owned()],
                ..Default::default()
            })
            .contains("for a static address")
        );
        assert!(!is_host("[fd00::1]") && !is_host("host:2575") && is_host("fd00::1"));
        assert!(
            bad(NetworkConfig {
                ntp: vec!["time server".to_owned()],
                ..Default::default()
            })
            .starts_with("network.ntp[0]")
        );
    }

    /// A FHIR endpoint named `name` at `url`, with a CA when the URL is https.
    fn fhir(name: &str, url: &str) -> FhirEndpoint {
        FhirEndpoint {
            name: name.to_owned(),
            url: url.to_owned(),
            tls_ca: url
                .starts_with("https://")
                .then(|| "/etc/titra/ca.pem".into()),
        }
    }

    #[test]
    fn a_fhir_url_connects_to_its_host_and_port() {
        let at = url_host_port;
        assert_eq!(
            at("https://10.20.30.50:8443/r4"),
            Ok(("10.20.30.50".to_owned(), 8443))
        );
        assert_eq!(
            at("https://fhir.hospital.example/r4"),
            Ok(("fhir.hospital.example".to_owned(), 443))
        );
        assert_eq!(
            at("http://fhir.hospital.example/r4"),
            Ok(("fhir.hospital.example".to_owned(), 80))
        );
        assert_eq!(
            at("http://fhir.hospital.example"),
            Ok(("fhir.hospital.example".to_owned(), 80))
        );
        // An IPv6 address in its brackets, with a port and without.
        assert_eq!(
            at("https://[fd00::5]:8443/fhir"),
            Ok(("fd00::5".to_owned(), 8443))
        );
        assert_eq!(
            at("https://[fd00::5]/fhir"),
            Ok(("fd00::5".to_owned(), 443))
        );
    }

    #[test]
    fn a_fhir_url_without_a_usable_host_or_port_or_with_a_user_is_refused() {
        let why = |url: &str| url_host_port(url).unwrap_err();
        for url in [
            "https://user:secret@fhir.hospital.example/r4",
            "https://user@fhir.hospital.example/r4",
            "https://user:secret@[fd00::5]:8443/r4",
        ] {
            assert_eq!(
                why(url),
                "it holds a user or password (user:password@)",
                "{url}"
            );
        }
        // No host: none at all, or a port alone.
        assert!(url_host_port("https:///r4").is_err());
        assert_eq!(why("https://:8443/r4"), "it has no host");
        for url in [
            "https://fhir.hospital.example:0/r4",
            "https://fhir.hospital.example:65536/r4",
            "https://fhir.hospital.example:/r4",
            "https://fhir.hospital.example:+443/r4",
        ] {
            assert!(why(url).starts_with("its port"), "{url}: {}", why(url));
        }
        assert!(why("https://[10.20.30.50]:8443/r4").contains("not an IPv6 address"));
        assert!(why("https://fhir_server.example/r4").starts_with("its host"));
        assert_eq!(
            why("ftp://fhir.hospital.example/r4"),
            "it does not start with http:// or https://"
        );
        // Unbracketed IPv6 cannot be told from a host and a port.
        assert!(url_host_port("https://fd00::5/r4").is_err());
    }

    #[test]
    fn the_firewall_lets_tcp_go_to_each_fhir_servers_host_and_port() {
        let mut i = integration();
        i.mllp.clear();
        i.fhir = vec![
            fhir("by-v4", "https://10.20.30.50:8443/r4"),
            fhir("by-name", "https://fhir.hospital.example/r4"),
            fhir("plain", "http://fhir.hospital.example/r4"),
            fhir("by-v6", "https://[fd00::5]:8443/fhir"),
            fhir("v6-default", "https://[fd00::6]/fhir"),
        ];
        i.check().unwrap();
        let f = files(None, Some(&i));
        for rule in [
            "    ip daddr 10.20.30.50 tcp dport 8443 accept comment \"by-v4\"\n",
            "    tcp dport 443 accept comment \"by-name: a host name, any address\"\n",
            "    tcp dport 80 accept comment \"plain: a host name, any address\"\n",
            "    ip6 daddr fd00::5 tcp dport 8443 accept comment \"by-v6\"\n",
            "    ip6 daddr fd00::6 tcp dport 443 accept comment \"v6-default\"\n",
        ] {
            assert!(f.nftables.contains(rule), "{rule}{}", f.nftables);
        }
        // A URL the profile's check refuses opens nothing.
        i.fhir = vec![fhir("secret", "https://user:pw@10.20.30.50/r4")];
        let f = files(None, Some(&i));
        assert!(!f.nftables.contains("\"secret"), "{}", f.nftables);
        assert!(!f.nftables.contains("10.20.30.50"), "{}", f.nftables);
    }

    #[test]
    fn a_static_address_without_dns_needs_every_server_by_its_address() {
        let net = NetworkConfig {
            address: Some("10.20.30.41/24".to_owned()),
            gateway: Some("10.20.30.1".to_owned()),
            dns: Vec::new(),
            ntp: vec!["10.20.0.123".to_owned(), "ntp.hospital.example".to_owned()],
        };
        assert_eq!(
            net.check().unwrap_err(),
            "network.ntp[1] is the host name \"ntp.hospital.example\", but a static network.address without network.dns has no DNS server to find its address: give network.dns, or the server's address instead of its name"
        );
        let net = NetworkConfig {
            ntp: vec!["10.20.0.123".to_owned()],
            ..net
        };
        net.check().unwrap();
        let mut i = integration();
        i.fhir = vec![fhir("records", "https://10.20.30.50:8443/r4")];
        i.mllp[0].host = "engine.hospital.example".to_owned();
        let e = net.check_endpoints(&i).unwrap_err();
        assert!(
            e.starts_with(
                "integration.mllp[0].host is the host name \"engine.hospital.example\", but"
            ),
            "{e}"
        );
        i.mllp[0].host = "10.20.30.40".to_owned();
        net.check_endpoints(&i).unwrap();
        i.fhir = vec![
            fhir("records", "https://[fd00::5]/r4"),
            fhir("named", "https://fhir.hospital.example:8443/r4"),
        ];
        let e = net.check_endpoints(&i).unwrap_err();
        assert!(
            e.starts_with(
                "integration.fhir[1].url is \"https://fhir.hospital.example:8443/r4\", whose host \"fhir.hospital.example\" is a name, but"
            ),
            "{e}"
        );
        // With a DNS server, or with DHCP (which names the site's), names are found.
        let with_dns = NetworkConfig {
            dns: vec!["10.20.0.53".to_owned()],
            ntp: vec!["ntp.hospital.example".to_owned()],
            ..net.clone()
        };
        with_dns.check().unwrap();
        with_dns.check_endpoints(&i).unwrap();
        let dhcp = NetworkConfig {
            ntp: vec!["ntp.hospital.example".to_owned()],
            ..Default::default()
        };
        dhcp.check().unwrap();
        dhcp.check_endpoints(&i).unwrap();
        // Every server by its address: DNS is not let out at all.
        i.fhir.truncate(1);
        let f = files(Some(&net), Some(&i));
        assert!(!f.nftables.contains("dport 53"), "{}", f.nftables);
        assert!(
            files(Some(&dhcp), Some(&i))
                .nftables
                .contains("udp dport 53 accept")
        );
    }
}
