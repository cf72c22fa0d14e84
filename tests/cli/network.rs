//! `titra network-config` (issue 23): the network files the image writes at boot, from a
//! hardware profile with a static address, time servers and the hospital's endpoints (one FHIR
//! server by an IPv6 address). The firewall is read by nftables itself (`nft --check`, no rule
//! loaded; .ci/run installs nftables), and a profile nftables could not carry is refused when it
//! is read.

use std::process::Command;

use crate::common::{TempDir, text, titra};

const SITE: &str = r#"
[network]
address = "10.20.30.41/24"
gateway = "10.20.30.1"
dns = ["10.20.0.53"]
ntp = ["10.20.0.123", "ntp.hospital.example"]

[integration]
eui64 = "B827EBFFFE123456"
facility = "WARD7"
patient_system = "urn:oid:1.2.3.4.5.6"

[[integration.mllp]]
name = "engine"
host = "10.20.30.40"
port = 2575

[[integration.fhir]]
name = "records"
url = "https://fhir.hospital.example:8443/r4"
tls_ca = "{CA}"

[[integration.fhir]]
name = "records-v6"
url = "https://[fd00::5]:8443/fhir"
tls_ca = "{CA}"
"#;

/// A self-signed CA certificate ("Titra test CA", valid until 2126; its key was not kept): the
/// site's CA file the profile names.
const CA: &str = include_str!("../common/test-ca.pem");

/// The built-in profile and [`SITE`], its CA written into `d`.
fn site_profile(d: &TempDir) -> std::path::PathBuf {
    let ca = d.file("hospital-ca.pem", CA);
    d.file(
        "hardware.toml",
        &format!(
            "{}\n{}",
            titra::input::hardware::BUILT_IN_HARDWARE,
            SITE.replace("{CA}", ca.to_str().unwrap())
        ),
    )
}

/// `nft --check -f FILE`, in a network namespace of its own where the test's user may (nft
/// needs CAP_NET_ADMIN even to check; unshare gives it there, root or not). Nothing is loaded.
fn nft_check(file: &std::path::Path) -> std::process::Output {
    Command::new("unshare")
        .args(["--map-root-user", "--net", "/usr/sbin/nft", "--check", "-f"])
        .arg(file)
        .output()
        .expect(
            "unshare and nft run (util-linux; Debian's nftables package, which .ci/run installs)",
        )
}

#[test]
fn the_network_files_are_written_and_nftables_reads_the_firewall() {
    let d = TempDir::new("network-config");
    let hardware = site_profile(&d);
    let out = d.join("run");
    let done = titra(&[
        "network-config",
        "--hardware",
        hardware.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    let networkd = std::fs::read_to_string(out.join("10-titra.network")).unwrap();
    assert!(networkd.contains("Address=10.20.30.41/24"), "{networkd}");
    let chrony = std::fs::read_to_string(out.join("titra.sources")).unwrap();
    assert!(
        chrony.contains("server ntp.hospital.example iburst"),
        "{chrony}"
    );
    let nft = out.join("titra.nft");
    let rules = std::fs::read_to_string(&nft).unwrap();
    assert!(
        rules.contains("ip daddr 10.20.30.40 tcp dport 2575 accept"),
        "{rules}"
    );
    // The FHIR servers: by name, to the URL's port; by IPv6 address, as ip6.
    assert!(
        rules.contains("tcp dport 8443 accept comment \"records: a host name, any address\""),
        "{rules}"
    );
    assert!(
        rules.contains("ip6 daddr fd00::5 tcp dport 8443 accept comment \"records-v6\""),
        "{rules}"
    );
    let checked = nft_check(&nft);
    assert!(
        checked.status.success(),
        "nft --check: {}{}",
        text(&checked.stdout),
        text(&checked.stderr)
    );
    // A rule nftables refuses is refused by it: the check is not a formality.
    std::fs::write(&nft, rules.replace("tcp dport 2575", "tcp dport 99999")).unwrap();
    let refused = nft_check(&nft);
    assert!(!refused.status.success());
}

#[test]
fn a_network_table_that_cannot_be_used_is_refused_by_name() {
    let d = TempDir::new("network-refused");
    let hardware = d.file(
        "hardware.toml",
        &format!(
            "{}\n[network]\naddress = \"10.20.30.41\"\ngateway = \"10.20.30.1\"\n",
            titra::input::hardware::BUILT_IN_HARDWARE
        ),
    );
    let refused = titra(&[
        "network-config",
        "--hardware",
        hardware.to_str().unwrap(),
        "--out",
        d.join("run").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("network.address is \"10.20.30.41\""),
        "{}",
        text(&refused.stderr)
    );

    // A static address without a DNS server, and a time server by name: it could never be found.
    let site = site_profile(&d);
    let without_dns = std::fs::read_to_string(&site)
        .unwrap()
        .replace("dns = [\"10.20.0.53\"]\n", "");
    std::fs::write(&site, without_dns).unwrap();
    let refused = titra(&[
        "network-config",
        "--hardware",
        site.to_str().unwrap(),
        "--out",
        d.join("run").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains(
            "network.ntp[1] is the host name \"ntp.hospital.example\", but a static network.address without network.dns"
        ),
        "{}",
        text(&refused.stderr)
    );
}

/// `titra-outbound`, the process that sends the outbox (the daemon has no network): with no
/// endpoint configured it says so and ends; with one it runs until SIGTERM and ends cleanly,
/// the unacknowledged messages left in the outbox.
#[test]
fn titra_outbound_runs_until_stopped_and_without_endpoints_says_so() {
    let d = TempDir::new("outbound-process");
    let none = Command::new(env!("CARGO_BIN_EXE_titra-outbound"))
        .args(["--db", d.join("titra.db").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(none.status.success(), "{none:?}");
    assert!(
        text(&none.stderr).contains("nothing to send"),
        "{}",
        text(&none.stderr)
    );
    let hardware = d.file(
        "hardware.toml",
        &format!(
            "{}\n[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\n[[integration.mllp]]\nname = \"engine\"\nhost = \"127.0.0.1\"\nport = 9\n",
            titra::input::hardware::BUILT_IN_HARDWARE
        ),
    );
    let mut running = Command::new(env!("CARGO_BIN_EXE_titra-outbound"))
        .args(["--hardware", hardware.to_str().unwrap()])
        .args(["--db", d.join("titra.db").to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It says it started its sender, then waits for the signal.
    let mut said = String::new();
    let mut err = std::io::BufReader::new(running.stderr.take().unwrap());
    while !said.contains("sending IHE PCD messages over MLLP") {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut err, &mut line).unwrap() == 0 {
            break;
        }
        said.push_str(&line);
    }
    assert!(
        said.contains("sending IHE PCD messages over MLLP"),
        "{said}"
    );
    let stopped = Command::new("kill")
        .args(["-TERM", &running.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(running.wait().unwrap().success());
}
