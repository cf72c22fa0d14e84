//! The hardware profile (config/hardware.toml): mechanism, sensors, alarm timing, pins and the
//! simulator's physics. Read strictly; checked for values that cannot work.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::core::units::{Duration, Volume, VolumeRate};

pub(crate) const HARDWARE_SCHEMA: &str = "titra.hardware/1";

/// The profile built into the binary (the bench prototype's).
pub const BUILT_IN_HARDWARE: &str = include_str!("../../config/hardware.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareConfig {
    pub schema: String,
    pub mechanism: Mechanism,
    pub occlusion: OcclusionConfig,
    pub reservoir: ReservoirConfig,
    pub sensors: SensorConfig,
    pub alarms: AlarmConfig,
    pub pins: Pins,
    pub simulation: SimulationConfig,
    /// The load cell's bench calibration (`titra calibrate` writes it); absent on a pump that
    /// uses the pressure switch or has not been calibrated.
    #[serde(default)]
    pub load_cell: Option<LoadCellConfig>,
    /// The trial log's storage thresholds (absent: the defaults below).
    #[serde(default)]
    pub storage: StorageConfig,
    /// How the pump names itself to the hospital's systems (IHE PCD messages); absent, it
    /// sends none.
    #[serde(default)]
    pub integration: Option<IntegrationConfig>,
    /// How the pump joins the hospital's network (absent: DHCP, no time server); the image
    /// writes it at boot (`titra network-config`, `input::network`).
    #[serde(default)]
    pub network: Option<super::network::NetworkConfig>,
}

/// `[integration]`: the pump's identity in its device messages (docs/integration-codes.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationConfig {
    /// The pump's EUI-64, 16 hexadecimal digits (on the Pi: its Ethernet MAC with FFFE in the
    /// middle), unique on the hospital's network.
    pub eui64: String,
    /// The facility the pump belongs to, as the interface engine knows it (MSH-4, and the
    /// authority of the patient's identifier), at most 20 characters.
    pub facility: String,
    /// The interface engines the pump sends its IHE PCD messages to, over MLLP, through the
    /// trial log's outbox (none: it sends nothing; `titra export --format hl7` still writes
    /// them to a file).
    #[serde(default)]
    pub mllp: Vec<MllpEndpoint>,
    /// The FHIR servers the trial summary's Bundle is posted to when a trial ends, through the
    /// same outbox (none: it is posted nowhere; `titra export --format fhir` still writes it).
    #[serde(default)]
    pub fhir: Vec<FhirEndpoint>,
    /// How many messages may wait for one endpoint before the LOW alarm "messages to the
    /// hospital are waiting" sounds. Default 30: half an hour of periodic observations, one a
    /// minute, with the events between (a network that is down for minutes is not an alarm;
    /// one down for half an hour is worth a nurse calling IT). 1 to 100 000.
    #[serde(default = "default_backlog_alarm")]
    pub backlog_alarm: u64,
    /// The system (a URI) of the hospital's patient identifiers, as its FHIR server knows
    /// them (for example `urn:oid:1.2.3.4.5.6`): the trial summary's FHIR Patient is
    /// identified by it. Without it the pump makes no FHIR Bundle (it never guesses whose
    /// record a trial belongs to).
    #[serde(default)]
    pub patient_system: Option<String>,
}

fn default_backlog_alarm() -> u64 {
    30
}

/// An endpoint's name: 1 to 40 letters, digits, `-` or `_`.
fn check_name(key: &str, name: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n == 0
        || n > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{key} is \"{name}\"; it must be 1 to 40 letters, digits, - or _"
        ));
    }
    Ok(())
}

/// The most interface engines, and the most FHIR servers, a pump sends to.
pub const MAX_ENDPOINTS: usize = 8;

/// The most messages `backlog_alarm` may allow (about two months of minutes).
pub const MAX_BACKLOG_ALARM: u64 = 100_000;

/// An MLLP endpoint (`[[integration.mllp]]`): an interface engine listening for HL7 v2.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MllpEndpoint {
    /// Its name in the outbox and the logs: 1 to 40 letters, digits, `-` or `_`, unique.
    pub name: String,
    /// Its host name or address.
    pub host: String,
    pub port: u16,
    /// The site's CA (a PEM file): with it the connection is TLS, and the engine's certificate
    /// must chain to it and name `host`. Without it, plain TCP (a network the hospital keeps
    /// for its devices).
    #[serde(default)]
    pub tls_ca: Option<std::path::PathBuf>,
}

/// A FHIR server (`[[integration.fhir]]`): where the trial summary's Bundle is posted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirEndpoint {
    /// Its name in the outbox and the logs: 1 to 40 letters, digits, `-` or `_`, unique among
    /// all endpoints.
    pub name: String,
    /// The server's base URL (`https://fhir.hospital.example/r4`), where a transaction is
    /// posted: http or https, a host name or an address (IPv6 in brackets:
    /// `https://[fd00::5]:8443/fhir`), a port if not the scheme's, no `user:password@`.
    pub url: String,
    /// The site's CA (a PEM file); needed for an https URL, refused for an http one.
    #[serde(default)]
    pub tls_ca: Option<std::path::PathBuf>,
}

impl IntegrationConfig {
    /// Why a value cannot be used, naming its key; Ok when all can.
    pub fn check(&self) -> Result<(), String> {
        if self.eui64.len() != 16 || !self.eui64.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "integration.eui64 is \"{}\"; it must be 16 hexadecimal digits",
                self.eui64
            ));
        }
        let n = self.facility.chars().count();
        if n == 0 || n > 20 || self.facility.contains(['|', '^', '&', '~', '\\']) {
            return Err(format!(
                "integration.facility is \"{}\"; it must be 1 to 20 characters, none of | ^ & ~ \\",
                self.facility
            ));
        }
        if !(1..=MAX_BACKLOG_ALARM).contains(&self.backlog_alarm) {
            return Err(format!(
                "integration.backlog_alarm is {}; it must be 1 to {MAX_BACKLOG_ALARM} messages",
                self.backlog_alarm
            ));
        }
        if let Some(system) = &self.patient_system {
            let uri = ["urn:", "http://", "https://"]
                .iter()
                .any(|p| system.starts_with(p));
            if !uri || system.len() > 200 || system.chars().any(|c| c.is_whitespace() || c == '|') {
                return Err(format!(
                    "integration.patient_system is \"{system}\"; it must be a URI (urn:, http:// or https://) of at most 200 characters, without spaces or |"
                ));
            }
        }
        if self.mllp.len() > MAX_ENDPOINTS || self.fhir.len() > MAX_ENDPOINTS {
            return Err(format!(
                "integration: {} interface engines and {} FHIR servers; at most {MAX_ENDPOINTS} of each (one sender thread each)",
                self.mllp.len(),
                self.fhir.len()
            ));
        }
        let names: Vec<&str> = self
            .mllp
            .iter()
            .map(|e| e.name.as_str())
            .chain(self.fhir.iter().map(|e| e.name.as_str()))
            .collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(format!(
                    "integration: the endpoint name \"{name}\" is given twice; each endpoint needs its own name"
                ));
            }
        }
        for (i, e) in self.fhir.iter().enumerate() {
            check_name(&format!("integration.fhir[{i}].name"), &e.name)?;
        }
        if !self.fhir.is_empty() && self.patient_system.is_none() {
            return Err(
                "integration.fhir needs integration.patient_system, the URI of the hospital's patient identifiers"
                    .to_owned(),
            );
        }
        for (i, e) in self.mllp.iter().enumerate() {
            check_name(&format!("integration.mllp[{i}].name"), &e.name)?;
        }
        Ok(())
    }

    /// Why an endpoint cannot be reached as it is written, naming its key: a FHIR server's URL
    /// (parsed as the sender sends to it and as the firewall opens the way), its `tls_ca` for
    /// https only, an interface engine's host and port. Not part of [`check`](Self::check): the
    /// pump daemon uses none of these, and a profile refused by a check made stricter in an
    /// update must stop the messages, never keep the daemon from starting and its trial from
    /// being recovered ([`HardwareConfig::check_reach`]).
    pub fn check_connections(&self) -> Result<(), String> {
        for (i, e) in self.fhir.iter().enumerate() {
            let https = e.url.starts_with("https://");
            let http = e.url.starts_with("http://");
            // Parsed as the sender sends it and as the firewall opens the way to it.
            let parsed = if e.url.len() > 500 {
                Err(format!("it is {} characters long", e.url.len()))
            } else if e.url.chars().any(char::is_whitespace) {
                Err("it holds white space".to_owned())
            } else {
                super::network::url_host_port(&e.url).map(|_| ())
            };
            if let Err(why) = parsed {
                return Err(format!(
                    "integration.fhir[{i}].url is \"{}\": {why}; it must be an http:// or https:// URL of at most 500 characters with a host name or an address (an IPv6 address in brackets), a port from 1 to 65535 if not the scheme's, and no user or password",
                    e.url
                ));
            }
            if https && e.tls_ca.is_none() {
                return Err(format!(
                    "integration.fhir[{i}]: an https URL needs tls_ca, the site's CA (the pump trusts no other)"
                ));
            }
            if http && e.tls_ca.is_some() {
                return Err(format!(
                    "integration.fhir[{i}]: tls_ca is given for an http URL; use https"
                ));
            }
        }
        for (i, e) in self.mllp.iter().enumerate() {
            if !super::network::is_host(&e.host) {
                return Err(format!(
                    "integration.mllp[{i}].host is \"{}\"; it must be a host name or an address (1 to 253 characters)",
                    e.host
                ));
            }
            if e.port == 0 {
                return Err(format!(
                    "integration.mllp[{i}].port is 0; it must be 1 to 65535"
                ));
            }
        }
        Ok(())
    }

    /// Why a file the endpoints name cannot be used, naming its key and its path: a `tls_ca`
    /// that does not exist, cannot be read, or holds no PEM certificate (read as the senders
    /// read it, `input::ca::ca_certificates`). Ok when all can. Apart from
    /// [`check`](Self::check), which reads no file: the profile's own checks stay a function
    /// of its text (the built-in profile, the fuzz targets, the tests); this one is for the
    /// processes that send (titra-outbound, beside [`HardwareConfig::check_reach`]).
    pub fn check_files(&self) -> Result<(), String> {
        let engines = self
            .mllp
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("integration.mllp[{i}].tls_ca"), e.tls_ca.as_deref()));
        let servers = self
            .fhir
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("integration.fhir[{i}].tls_ca"), e.tls_ca.as_deref()));
        for (key, ca) in engines.chain(servers) {
            let Some(path) = ca else {
                continue;
            };
            crate::input::ca::ca_certificates(path).map_err(|e| {
                format!(
                    "{key} is \"{}\", which {}; it must be a PEM file holding the site's CA certificate (BEGIN CERTIFICATE)",
                    path.display(),
                    e.why()
                )
            })?;
        }
        Ok(())
    }
}

/// When the trial log's storage warns and stops (`[storage]`; each default and its reason).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Free space (MiB) under which the MEDIUM alarm sounds. Default 256: ten 14-day trials'
    /// budgets (24 MB each), so that days pass between the warning and the stop.
    pub low_free_mib: u64,
    /// Free space (MiB) under which delivery stops with the HIGH alarm. Default 32: SQLite's
    /// write-ahead log grows to about 4 MiB between checkpoints, and the journald logs share
    /// the card; 32 MiB leaves room for both several times over.
    pub stop_free_mib: u64,
    /// The reserve file beside the log (MiB), released for the last records when the stop
    /// threshold is crossed. Default 16: a stopped pump writes at most a few hundred rows (the
    /// stop, its alarm, acknowledgements, the end of the trial), and a WAL's worth of pages.
    pub reserve_mib: u64,
    /// The log's growth, as a percentage of the trial's budget, at which the MEDIUM alarm
    /// sounds. Default 80 (issue 19).
    pub budget_warn_percent: u8,
    /// How often the daemon checks (a `stat` of the log and a `statvfs`). Default 1 min: the
    /// log grows about 35 kB a minute at most, far less than the thresholds' gaps.
    pub check_every: Duration,
}

/// The most any `[storage]` size may be, in MiB (1 TiB).
pub const MAX_STORAGE_MIB: u64 = 1024 * 1024;

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            low_free_mib: 256,
            stop_free_mib: 32,
            reserve_mib: 16,
            budget_warn_percent: 80,
            check_every: Duration::from_mins(1),
        }
    }
}

/// Counts → pressure: `(counts − zero) / counts_per_mmhg`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadCellConfig {
    pub zero: i32,
    pub counts_per_mmhg: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mechanism {
    pub syringe: Volume,
    pub steps_per_ml: u64,
    pub plunger_area_mm2: f64,
    pub max_rate: VolumeRate,
    pub bolus_rate: VolumeRate,
    pub prime_volume: Volume,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcclusionConfig {
    pub threshold_mmhg: f64,
    /// The longest and the shortest window a rise is tested over.
    pub trend_window: Duration,
    pub trend_shortest_window: Duration,
    pub trend_min_rise_mmhg: f64,
    /// The load cell's drift allowance, mmHg/h.
    pub drift_mmhg_per_h: f64,
    /// The false-alarm budget the trend test's threshold is set from.
    pub false_alarms_per_1000_days: f64,
    pub line_compliance_ul_per_mmhg: f64,
    pub line_resistance_mmhg_per_ml_h: f64,
    /// The plausible line, [least, most].
    pub line_compliance_range_ul_per_mmhg: [f64; 2],
    pub line_resistance_range_mmhg_per_ml_h: [f64; 2],
    pub backoff: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReservoirConfig {
    pub low_volume: Volume,
    pub low_time: Duration,
    pub empty_volume: Volume,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    pub read_interval: Duration,
    pub stall_tolerance_steps: u64,
    pub stuck_after: usize,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmConfig {
    pub paused_reminder: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// How the pins are reached (feature `rpi`): the kernel's GPIO character device (any
    /// kernel, the default) or rppal's /dev/gpiomem register window (Raspberry Pi kernels).
    #[serde(default)]
    pub access: GpioAccess,
    /// The GPIO chip for `access = "chardev"`; its line offsets are the BCM GPIO numbers below
    /// (the Pi 4's /dev/gpiochip0).
    #[serde(default = "default_chip")]
    pub chip: std::path::PathBuf,
    pub step: u8,
    pub dir: u8,
    pub enable: u8,
    pub enable_active_low: bool,
    pub end_of_travel: u8,
    pub reservoir_present: u8,
    pub hx711_dout: u8,
    pub hx711_sck: u8,
    pub buzzer: u8,
    pub alarm_led: u8,
    /// An inline pressure switch instead of the load cell (its pin), when fitted.
    #[serde(default)]
    pub pressure_switch: Option<u8>,
    /// The patient's bolus button on a cord (to GND, internal pull-up), when fitted.
    #[serde(default)]
    pub patient_button: Option<u8>,
}

/// How the pump's GPIO pins are reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpioAccess {
    /// The kernel's GPIO character device (/dev/gpiochipN): Debian's and Raspberry Pi OS's
    /// kernels alike, no root needed (group gpio).
    #[default]
    Chardev,
    /// rppal through /dev/gpiomem: only Raspberry Pi kernels provide it.
    Gpiomem,
}

fn default_chip() -> std::path::PathBuf {
    std::path::PathBuf::from("/dev/gpiochip0")
}

/// The disturbances of the `[simulation]` table; all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Disturbances {
    /// The load cell's offset creeps by this much per hour (creep, a warming enclosure), mmHg/h.
    pub drift_mmhg_per_h: f64,
    /// A daily temperature swing moves the offset by up to this much either way (a 24 h sine
    /// from the start), mmHg.
    pub drift_daily_mmhg: f64,
    /// At start-up (the first push after the motor is switched on) the plunger sticks until
    /// this much volume has been wound up behind it, then breaks free and pushes it at once, µL.
    pub stiction_ul: f64,
    /// A partial occlusion starts this many hours into the run (absent: none)…
    pub partial_occlusion_from_h: Option<f64>,
    /// …and the catheter's resistance grows by this fraction of its nominal value every hour
    /// after (0.5: ×1.5 after one hour, ×5 after eight).
    pub partial_occlusion_per_h: f64,
    /// An intermittent kink about every this many hours (each at a random moment of its slot;
    /// 0: none), h…
    pub kink_every_h: f64,
    /// …blocking the line for this long, min.
    pub kink_min: f64,
    /// Movement and coughing: pressure spikes at this mean rate (each minute has a chance of
    /// `spikes_per_h / 60`), per hour…
    pub spikes_per_h: f64,
    /// …of this height, mmHg…
    pub spike_mmhg: f64,
    /// …decaying with this time constant, s.
    pub spike_s: f64,
}

impl Disturbances {
    /// Why a value cannot be used, naming its key; Ok when every one can.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            ("drift_mmhg_per_h", self.drift_mmhg_per_h, f64::MIN),
            ("drift_daily_mmhg", self.drift_daily_mmhg, 0.0),
            ("stiction_ul", self.stiction_ul, 0.0),
            ("partial_occlusion_per_h", self.partial_occlusion_per_h, 0.0),
            ("kink_every_h", self.kink_every_h, 0.0),
            ("kink_min", self.kink_min, 0.0),
            ("spikes_per_h", self.spikes_per_h, 0.0),
            ("spike_mmhg", self.spike_mmhg, 0.0),
            ("spike_s", self.spike_s, 0.0),
        ];
        for (key, value, least) in values {
            if !value.is_finite() || value < least {
                return Err(format!(
                    "simulation.{key} is {value}; it must be a number{}",
                    if least == 0.0 { " of 0 or more" } else { "" }
                ));
            }
        }
        if let Some(h) = self.partial_occlusion_from_h
            && !(h.is_finite() && h >= 0.0)
        {
            return Err(format!(
                "simulation.partial_occlusion_from_h is {h}; it must be 0 or more"
            ));
        }
        if self.kink_every_h > 0.0 && self.kink_min / 60.0 >= self.kink_every_h {
            return Err(format!(
                "simulation.kink_min {} is as long as the {} h between kinks: the line would never open",
                self.kink_min, self.kink_every_h
            ));
        }
        if self.spikes_per_h > 60.0 {
            return Err(format!(
                "simulation.spikes_per_h is {}; at most 60 (one a minute)",
                self.spikes_per_h
            ));
        }
        Ok(())
    }
}

/// The simulated line (`[simulation]`): the basic model's keys, which other tools set and read
/// as they are, and the disturbances a real line adds ([`Disturbances`], each off unless set).
/// Unknown keys are refused by [`HardwareConfig::from_toml_str`] (a flattened table cannot
/// refuse them itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationConfig {
    pub compliance_ul_per_mmhg: f64,
    pub resistance_mmhg_per_ml_h: f64,
    pub screw_error_pct: f64,
    pub steps_per_turn: u64,
    pub noise_mmhg: f64,
    /// The simulated load cell's conversions a second, each with `noise_mmhg` of noise; a
    /// reading is their mean since the last (the HX711: 10, or 80 with RATE high).
    #[serde(default = "ten_per_s")]
    pub samples_per_s: f64,
    pub seed: u64,
    #[serde(flatten)]
    pub disturbances: Disturbances,
}

fn ten_per_s() -> f64 {
    10.0
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hardware profile {source_name}: {message}")]
pub struct ConfigError {
    pub source_name: String,
    pub message: String,
}

impl HardwareConfig {
    /// The built-in profile.
    pub fn built_in() -> Result<HardwareConfig, ConfigError> {
        HardwareConfig::from_toml_str(BUILT_IN_HARDWARE, "built-in")
    }

    /// What `titra-alarm` can use when the daemon cannot run, whatever is wrong with the
    /// profile (one of the likeliest reasons it cannot): the profile at `path` if it loads;
    /// otherwise the built-in one with the alarm LED's and buzzer's pins (and the chip and
    /// access) read from the file's `[pins]` where they can be; otherwise the built-in
    /// wiring. The second value says what was wrong, for the journal.
    pub fn for_alarm(path: Option<&Path>) -> Result<(HardwareConfig, Option<String>), ConfigError> {
        let failure = match HardwareConfig::load(path) {
            Ok(c) => return Ok((c, None)),
            Err(e) => e.to_string(),
        };
        let mut c = HardwareConfig::built_in()?;
        let pins = path
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|text| text.parse::<toml::Table>().ok())
            .and_then(|t| t.get("pins").and_then(toml::Value::as_table).cloned());
        let field = |name: &str| pins.as_ref().and_then(|p| p.get(name));
        let pin = |name: &str| {
            field(name)
                .and_then(toml::Value::as_integer)
                .and_then(|v| u8::try_from(v).ok())
        };
        let (Some(led), Some(buzzer)) = (pin("alarm_led"), pin("buzzer")) else {
            let said = format!(
                "{failure}; the alarm uses the built-in wiring's alarm LED and buzzer pins"
            );
            return Ok((c, Some(said)));
        };
        c.pins.alarm_led = led;
        c.pins.buzzer = buzzer;
        if let Some(chip) = field("chip").and_then(toml::Value::as_str) {
            c.pins.chip = chip.into();
        }
        if let Some(access) = field("access").and_then(|v| v.clone().try_into::<GpioAccess>().ok())
        {
            c.pins.access = access;
        }
        let said = format!("{failure}; the alarm uses the file's alarm LED and buzzer pins");
        Ok((c, Some(said)))
    }

    /// The checks of tables that are read as they are: the simulator's disturbances and the
    /// pump's names in its device messages. None reads a file. What only the processes that
    /// reach the hospital use is checked apart ([`check_reach`](Self::check_reach)).
    fn check_tables(&self) -> Result<(), String> {
        self.simulation.disturbances.check()?;
        if let Some(integration) = &self.integration {
            integration.check()?;
        }
        Ok(())
    }

    /// Why what the pump daemon does not use cannot be used, naming its key: the network
    /// (`[network]`), each endpoint's address or URL ([`IntegrationConfig::check_connections`])
    /// and whether the network can reach it (a host name needs a DNS server). None reads a file
    /// (the CA files: [`IntegrationConfig::check_files`]). For the processes that reach the
    /// hospital: `titra network-config` refuses the profile
    /// ([`load_checking_reach`](Self::load_checking_reach)); titra-outbound says it, with the
    /// CA files, and starts the senders that can. Never for the daemon: a profile refused here (a check made
    /// stricter by an update, a CA file replaced with a bad one) must stop the messages, never
    /// keep the daemon from starting and its trial from being recovered.
    pub fn check_reach(&self) -> Result<(), String> {
        if let Some(net) = &self.network {
            net.check()?;
        }
        if let Some(integration) = &self.integration {
            integration.check_connections()?;
            if let Some(net) = &self.network {
                net.check_endpoints(integration)?;
            }
        }
        Ok(())
    }

    /// The profile at `path`, or the built-in one.
    pub fn load(path: Option<&Path>) -> Result<HardwareConfig, ConfigError> {
        path.map_or_else(HardwareConfig::built_in, HardwareConfig::from_file)
    }

    /// As [`load`](Self::load), and what only the processes that reach the hospital use
    /// checked too ([`check_reach`](Self::check_reach)): for `titra network-config`.
    pub fn load_checking_reach(path: Option<&Path>) -> Result<HardwareConfig, ConfigError> {
        let c = HardwareConfig::load(path)?;
        c.check_reach().map_err(|message| ConfigError {
            source_name: path.map_or_else(|| "built-in".to_owned(), |p| p.display().to_string()),
            message,
        })?;
        Ok(c)
    }

    pub fn from_file(path: &Path) -> Result<HardwareConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source_name: name.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        HardwareConfig::from_toml_str(&text, &name)
    }

    pub fn from_toml_str(text: &str, name: &str) -> Result<HardwareConfig, ConfigError> {
        let fail = |message: String| ConfigError {
            source_name: name.to_owned(),
            message,
        };
        let c: HardwareConfig = crate::core::from_toml(text).map_err(fail)?;
        unknown_simulation_key(text, &c.simulation).map_or(Ok(()), |key| {
            Err(fail(format!("unknown key simulation.{key}")))
        })?;
        c.check_tables().map_err(fail)?;
        if c.schema != HARDWARE_SCHEMA {
            return Err(fail(format!(
                "schema is \"{}\", this version reads \"{HARDWARE_SCHEMA}\"",
                c.schema
            )));
        }
        let st = &c.storage;
        // At most a tebibyte each (far above any card; it keeps their sum in bytes in a u64).
        for (field, v) in [
            ("low_free_mib", st.low_free_mib),
            ("stop_free_mib", st.stop_free_mib),
            ("reserve_mib", st.reserve_mib),
        ] {
            if v > MAX_STORAGE_MIB {
                return Err(fail(format!(
                    "storage.{field} is {v}; it may be at most {MAX_STORAGE_MIB} (1 TiB)"
                )));
            }
        }
        if st.stop_free_mib == 0
            || st.low_free_mib <= st.stop_free_mib
            || !(1..=100).contains(&st.budget_warn_percent)
            || st.check_every == Duration::ZERO
            || st.check_every > Duration::from_hours(1)
        {
            return Err(fail(format!(
                "storage: low_free_mib ({}) must be above stop_free_mib ({}), which must be above 0; budget_warn_percent ({}) from 1 to 100; check_every ({}) from 1 ms to 1 h",
                st.low_free_mib, st.stop_free_mib, st.budget_warn_percent, st.check_every
            )));
        }
        let m = &c.mechanism;
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(fail(format!(
                    "{field} is {v}; it must be a positive number"
                )))
            }
        };
        if m.steps_per_ml == 0 || m.steps_per_ml > 10_000_000 {
            return Err(fail(format!(
                "mechanism.steps_per_ml is {}; it must be from 1 to 10000000",
                m.steps_per_ml
            )));
        }
        positive("mechanism.plunger_area_mm2", m.plunger_area_mm2)?;
        positive("occlusion.threshold_mmhg", c.occlusion.threshold_mmhg)?;
        positive(
            "occlusion.trend_min_rise_mmhg",
            c.occlusion.trend_min_rise_mmhg,
        )?;
        positive("occlusion.drift_mmhg_per_h", c.occlusion.drift_mmhg_per_h)?;
        positive(
            "occlusion.false_alarms_per_1000_days",
            c.occlusion.false_alarms_per_1000_days,
        )?;
        let o = &c.occlusion;
        for (key, [lo, hi], nominal) in [
            (
                "occlusion.line_compliance_range_ul_per_mmhg",
                o.line_compliance_range_ul_per_mmhg,
                o.line_compliance_ul_per_mmhg,
            ),
            (
                "occlusion.line_resistance_range_mmhg_per_ml_h",
                o.line_resistance_range_mmhg_per_ml_h,
                o.line_resistance_mmhg_per_ml_h,
            ),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= nominal && nominal <= hi) {
                return Err(fail(format!(
                    "{key} is [{lo}, {hi}]; it must be above zero, least first, and hold the nominal value {nominal}"
                )));
            }
        }
        positive(
            "occlusion.line_compliance_ul_per_mmhg",
            c.occlusion.line_compliance_ul_per_mmhg,
        )?;
        positive(
            "occlusion.line_resistance_mmhg_per_ml_h",
            c.occlusion.line_resistance_mmhg_per_ml_h,
        )?;
        positive(
            "simulation.compliance_ul_per_mmhg",
            c.simulation.compliance_ul_per_mmhg,
        )?;
        positive(
            "simulation.resistance_mmhg_per_ml_h",
            c.simulation.resistance_mmhg_per_ml_h,
        )?;
        if !(c.simulation.screw_error_pct.is_finite()
            && (0.0..50.0).contains(&c.simulation.screw_error_pct))
            || c.simulation.steps_per_turn == 0
        {
            return Err(fail(
                "simulation.screw_error_pct must be from 0 to 50 and steps_per_turn above 0"
                    .to_owned(),
            ));
        }
        if !(c.simulation.noise_mmhg.is_finite() && c.simulation.noise_mmhg >= 0.0) {
            return Err(fail(
                "simulation.noise_mmhg must be zero or more".to_owned(),
            ));
        }
        if m.syringe.is_zero() || m.max_rate.is_zero() || m.bolus_rate.is_zero() {
            return Err(fail(
                "mechanism.syringe, max_rate and bolus_rate must be more than zero".to_owned(),
            ));
        }
        if m.bolus_rate > m.max_rate {
            return Err(fail(format!(
                "mechanism.bolus_rate {} is above max_rate {}",
                m.bolus_rate, m.max_rate
            )));
        }
        if c.sensors.read_interval.is_zero()
            || c.occlusion.trend_shortest_window < c.sensors.read_interval * 5
            || c.occlusion.trend_window < c.occlusion.trend_shortest_window
        {
            return Err(fail(format!(
                "occlusion.trend_shortest_window is {} and trend_window {}: the shortest must hold at least 5 sensor readings ({} each) and be no longer than trend_window",
                c.occlusion.trend_shortest_window,
                c.occlusion.trend_window,
                c.sensors.read_interval
            )));
        }
        if !(c.simulation.samples_per_s.is_finite()
            && (1.0..=1000.0).contains(&c.simulation.samples_per_s))
        {
            return Err(fail(format!(
                "simulation.samples_per_s is {}; it must be from 1 to 1000",
                c.simulation.samples_per_s
            )));
        }
        if c.reservoir.empty_volume > c.reservoir.low_volume {
            return Err(fail(
                "reservoir.empty_volume is above low_volume".to_owned(),
            ));
        }
        Ok(c)
    }
}

/// A key of the profile's `[simulation]` table that [`SimulationConfig`] does not have (its
/// own or a disturbance's), if any.
fn unknown_simulation_key(text: &str, sim: &SimulationConfig) -> Option<String> {
    let table: toml::Table = text.parse().ok()?;
    let given = table.get("simulation")?.as_table()?;
    let known = serde_json::to_value(sim).ok()?;
    let known = known.as_object()?;
    given.keys().find(|k| !known.contains_key(*k)).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_profile_reads() {
        let c = HardwareConfig::built_in().unwrap();
        assert_eq!(c.mechanism.steps_per_ml, 14_400);
        assert_eq!(c.mechanism.bolus_rate.to_string(), "24 mL/day");
        assert!(c.pins.enable_active_low);
    }

    #[test]
    fn the_alarm_finds_its_pins_in_a_profile_that_does_not_load() {
        let scratch = crate::scratch::Scratch::new("alarm-pins");
        let dir = scratch.path();
        let path = dir.join("hardware.toml");
        // A broken mechanism, moved alarm pins: the daemon cannot start, the alarm still sounds
        // on the pins this pump is wired to.
        let broken = BUILT_IN_HARDWARE
            .replace("steps_per_ml = 14400", "steps_per_ml = 0")
            .replace("buzzer = 18", "buzzer = 5")
            .replace("alarm_led = 25", "alarm_led = 6");
        std::fs::write(&path, &broken).unwrap();
        let (c, trouble) = HardwareConfig::for_alarm(Some(&path)).unwrap();
        assert_eq!((c.pins.buzzer, c.pins.alarm_led), (5, 6));
        let trouble = trouble.unwrap();
        assert!(trouble.contains("mechanism.steps_per_ml is 0"), "{trouble}");
        assert!(
            trouble.contains("the file's alarm LED and buzzer pins"),
            "{trouble}"
        );

        // Not even TOML: the built-in wiring.
        std::fs::write(&path, "[pins\nbuzzer = 5").unwrap();
        let (c, trouble) = HardwareConfig::for_alarm(Some(&path)).unwrap();
        assert_eq!((c.pins.buzzer, c.pins.alarm_led), (18, 25));
        assert!(trouble.unwrap().contains("the built-in wiring's"));

        // Missing file: the built-in wiring, and the reason.
        let (c, trouble) = HardwareConfig::for_alarm(Some(&dir.join("gone.toml"))).unwrap();
        assert_eq!(c.pins.buzzer, 18);
        assert!(trouble.is_some());

        // A good profile: used as it is, nothing to say.
        std::fs::write(
            &path,
            BUILT_IN_HARDWARE.replace("buzzer = 18", "buzzer = 7"),
        )
        .unwrap();
        let (c, trouble) = HardwareConfig::for_alarm(Some(&path)).unwrap();
        assert_eq!(c.pins.buzzer, 7);
        assert!(trouble.is_none());
    }

    #[test]
    fn storage_sizes_are_bounded() {
        let bad =
            BUILT_IN_HARDWARE.replace("reserve_mib = 16", "reserve_mib = 18446744073709551615");
        let e = HardwareConfig::from_toml_str(&bad, "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("storage.reserve_mib is 18446744073709551615; it may be at most 1048576"),
            "{e}"
        );
    }

    #[test]
    fn bad_profiles_are_refused_with_the_field() {
        let bad = BUILT_IN_HARDWARE.replace("steps_per_ml = 14400", "steps_per_ml = 0");
        let e = HardwareConfig::from_toml_str(&bad, "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("mechanism.steps_per_ml is 0"), "{e}");
        let bad = BUILT_IN_HARDWARE.replace("bolus_rate = \"1 mL/h\"", "bolus_rate = \"20 mL/h\"");
        let e = HardwareConfig::from_toml_str(&bad, "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bolus_rate 480 mL/day is above max_rate 240 mL/day"),
            "{e}"
        );
        let bad = BUILT_IN_HARDWARE.replace("syringe = \"20 mL\"", "syringe = \"20 mg\"");
        let e = HardwareConfig::from_toml_str(&bad, "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line ") && e.contains("is an amount of drug"),
            "{e}"
        );
        // The simulated line: its disturbances are read, a bad one or an unknown key refused
        // by name.
        let c = HardwareConfig::from_toml_str(
            &BUILT_IN_HARDWARE.replace("kink_every_h = 0.0", "kink_every_h = 4.0"),
            "x",
        )
        .unwrap();
        assert_eq!(c.simulation.disturbances.kink_every_h, 4.0);
        assert_eq!(c.simulation.seed, 1);
        for (bad, want) in [
            (
                BUILT_IN_HARDWARE.replace("spike_mmhg = 0.0", "spike_mmhg = -3.0"),
                "simulation.spike_mmhg is -3; it must be a number of 0 or more",
            ),
            (
                BUILT_IN_HARDWARE.replace("seed = 1", "seed = 1\nkinks = 3"),
                "unknown key simulation.kinks",
            ),
        ] {
            let e = HardwareConfig::from_toml_str(&bad, "x")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    /// The built-in profile with `tables` (TOML) after it, read as a file's text is.
    /// The built-in profile with `tables`, read and checked as the processes that reach the
    /// hospital check it (`check_reach`).
    fn with(tables: &str) -> Result<HardwareConfig, String> {
        let c = HardwareConfig::from_toml_str(&format!("{BUILT_IN_HARDWARE}\n{tables}"), "x")
            .map_err(|e| e.to_string())?;
        c.check_reach()?;
        Ok(c)
    }

    #[test]
    fn what_only_the_senders_use_never_keeps_the_daemon_from_reading_the_profile() {
        // Each refused by the senders' check, each read by the daemon (which must start and
        // recover its trial whatever an update made stricter): the messages stop, not delivery.
        let net = "[network]\naddress = \"10.20.30.41/24\"\ngateway = \"10.20.30.1\"\n";
        for (tables, why) in [
            (
                fhir_site("https://user@fhir.hospital.example/r4", Some("/x.pem")),
                "integration.fhir[0].url",
            ),
            (
                fhir_site("https://fhir.hospital.example/r4", None),
                "an https URL needs tls_ca",
            ),
            (
                format!(
                    "{net}[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\n[[integration.mllp]]\nname = \"engine\"\nhost = \"engine.hospital.example\"\nport = 2575\n"
                ),
                "integration.mllp[0].host is the host name",
            ),
            (
                "[network]\naddress = \"10.20.30.41\"\n".to_owned(),
                "network.address",
            ),
        ] {
            let e = with(&tables).unwrap_err();
            assert!(e.contains(why), "{e}");
            HardwareConfig::from_toml_str(&format!("{BUILT_IN_HARDWARE}\n{tables}"), "x")
                .unwrap_or_else(|e| panic!("the daemon refused {tables}: {e}"));
        }
    }

    /// `[integration]` with one FHIR server at `url`, its CA `ca`.
    fn fhir_site(url: &str, ca: Option<&str>) -> String {
        let ca = ca.map_or_else(String::new, |ca| format!("tls_ca = \"{ca}\"\n"));
        format!(
            "[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\npatient_system = \"urn:oid:1.2.3.4.5.6\"\n[[integration.fhir]]\nname = \"records\"\nurl = \"{url}\"\n{ca}"
        )
    }

    #[test]
    fn a_fhir_url_needs_a_host_and_no_user_and_is_refused_naming_the_field() {
        // The check reads no file: the CA's path is not looked at here.
        for url in [
            "https://10.20.30.50:8443/r4",
            "https://fhir.hospital.example/r4",
            "https://[fd00::5]:8443/fhir",
        ] {
            with(&fhir_site(url, Some("/etc/titra/ca.pem"))).unwrap();
        }
        with(&fhir_site("http://fhir.hospital.example/r4", None)).unwrap();
        for (url, why) in [
            (
                "https://user:secret@fhir.hospital.example/r4",
                "it holds a user or password (user:password@)",
            ),
            ("https://:8443/r4", "it has no host"),
            ("https:///r4", "it cannot be read as a URL"),
            (
                "https://fhir.hospital.example:70000/r4",
                "its port \"70000\" is not a number from 1 to 65535",
            ),
            (
                "https://[10.20.30.50]/r4",
                "[10.20.30.50] is not an IPv6 address",
            ),
        ] {
            let e = with(&fhir_site(url, Some("/etc/titra/ca.pem"))).unwrap_err();
            assert!(
                e.contains(&format!("integration.fhir[0].url is \"{url}\": {why}")),
                "{e}"
            );
            assert!(
                e.contains("it must be an http:// or https:// URL of at most 500 characters with a host name or an address"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_tls_ca_that_cannot_be_used_is_said_naming_its_key_and_path() {
        let scratch = crate::scratch::Scratch::new("hardware-tls-ca");
        let dir = scratch.path();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, crate::input::ca::TEST_CA_PEM).unwrap();
        let der = dir.join("ca.der");
        std::fs::write(&der, b"\x30\x82\x01\x87\x30\x82").unwrap();
        let gone = dir.join("gone.pem");
        let profile = dir.join("hardware.toml");
        let write = |engine_ca: &Path, server_ca: &Path| {
            let site = format!(
                "[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\npatient_system = \"urn:oid:1.2.3.4.5.6\"\n[[integration.mllp]]\nname = \"engine\"\nhost = \"10.20.30.40\"\nport = 2575\ntls_ca = \"{}\"\n[[integration.fhir]]\nname = \"records\"\nurl = \"https://10.20.30.50:8443/r4\"\ntls_ca = \"{}\"\n",
                engine_ca.display(),
                server_ca.display()
            );
            std::fs::write(&profile, format!("{BUILT_IN_HARDWARE}\n{site}")).unwrap();
        };
        let files = || {
            HardwareConfig::load(Some(&profile))
                .unwrap()
                .integration
                .unwrap()
                .check_files()
        };
        write(&ca, &ca);
        files().unwrap();

        write(&ca, &gone);
        let e = files().unwrap_err();
        assert!(
            e.contains(&format!(
                "integration.fhir[0].tls_ca is \"{}\", which does not exist; it must be a PEM file",
                gone.display()
            )),
            "{e}"
        );
        // The pump daemon's read looks at no CA: a bad one never keeps a pump from delivering.
        HardwareConfig::load(Some(&profile)).unwrap();

        write(&der, &ca);
        let e = files().unwrap_err();
        assert!(
            e.contains(&format!(
                "integration.mllp[0].tls_ca is \"{}\", which holds no certificate (PEM, BEGIN CERTIFICATE)",
                der.display()
            )),
            "{e}"
        );
        // The built-in profile names no file.
        assert!(HardwareConfig::load(None).unwrap().integration.is_none());
        HardwareConfig::load_checking_reach(None).unwrap();
    }

    #[test]
    fn a_static_address_without_dns_refuses_an_endpoint_given_by_name() {
        let net = "[network]\naddress = \"10.20.30.41/24\"\ngateway = \"10.20.30.1\"\n";
        let engine = |host: &str| {
            format!(
                "[integration]\neui64 = \"B827EBFFFE123456\"\nfacility = \"WARD7\"\n[[integration.mllp]]\nname = \"engine\"\nhost = \"{host}\"\nport = 2575\n"
            )
        };
        let e = with(&format!("{net}{}", engine("engine.hospital.example"))).unwrap_err();
        assert!(
            e.contains("integration.mllp[0].host is the host name \"engine.hospital.example\", but a static network.address without network.dns has no DNS server"),
            "{e}"
        );
        with(&format!("{net}{}", engine("10.20.30.40"))).unwrap();
        with(&format!(
            "{net}dns = [\"10.20.0.53\"]\n{}",
            engine("engine.hospital.example")
        ))
        .unwrap();
        // A time server by name, the same.
        let e = with(&format!("{net}ntp = [\"ntp.hospital.example\"]\n")).unwrap_err();
        assert!(
            e.contains("network.ntp[0] is the host name \"ntp.hospital.example\""),
            "{e}"
        );
        // DHCP brings the site's DNS servers.
        with(&fhir_site(
            "https://fhir.hospital.example/r4",
            Some("/etc/titra/ca.pem"),
        ))
        .unwrap();
    }
}
