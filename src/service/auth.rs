//! Who may do what: nurses and clinicians log in by name (or user ID) and PIN; the patient needs
//! none and can only ask for a bolus and record pain and side effects.
//!
//! - PINs are 6 to 12 digits, stored as argon2id hashes (a users file, or demo users for the
//!   simulator).
//! - Wrong PINs are counted per user: [`FREE_TRIES`] are allowed, then each further wrong PIN
//!   locks that user alone for [`FIRST_LOCK`], doubling each time up to [`LONGEST_LOCK`]. Other
//!   users are never locked out by someone else's mistakes. A right PIN clears the count.
//! - The counts and locks are kept in a small file beside the trial log, so a restart never
//!   clears them (a restart may make a lock last its whole length again; it never shortens it).
//! - A session belongs to the connection that logged in ([`Peer`]): the token is refused from
//!   any other. It ends on logout, after [`SESSION_IDLE`] without a call, or when that
//!   connection goes away.
//!
//! Time is injected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::core::tr;
use crate::core::units::{Duration, Timestamp};

/// The fewest and most digits a PIN may have. Six digits give a million PINs per user; with the
/// back-off below a guesser gets about 30 tries a day at one user.
pub const MIN_PIN_DIGITS: usize = 6;
pub const MAX_PIN_DIGITS: usize = 12;
/// Wrong PINs a user may type before the first lock.
pub const FREE_TRIES: u32 = 3;
/// The first lock; each wrong PIN after it doubles the next, up to the longest.
pub const FIRST_LOCK: Duration = Duration::from_mins(1);
pub const LONGEST_LOCK: Duration = Duration::from_mins(60);
pub const SESSION_IDLE: Duration = Duration::from_mins(3);
/// The longest user ID and name a users file may hold.
pub const MAX_ID: usize = 32;
pub const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Nurse,
    Clinician,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Nurse => "nurse",
            UserRole::Clinician => "clinician",
        }
    }

    /// The role in words, in the language in use ("nurse").
    pub fn words(self) -> &'static str {
        match self {
            UserRole::Nurse => tr!("nurse"),
            UserRole::Clinician => tr!("clinician"),
        }
    }
}

/// A user as the users file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// What the user types, or the screen sends when the name is picked: lower-case letters,
    /// digits, `.`, `_` and `-`.
    pub id: String,
    pub name: String,
    pub role: UserRole,
    /// argon2 PHC string, from `titra hash-pin`.
    pub pin_hash: String,
}

/// A member of staff as the login screen lists them (never the PIN's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: String,
    pub name: String,
    pub role: UserRole,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<User>,
}

/// A lock's length in words, rounded up ("1 min"): never shorter than it is.
fn lock_words(lock: &Duration) -> String {
    crate::core::readable::duration(*lock, crate::core::readable::Round::Up)
}

/// A refused login, session or check, worded for the nurse in the language in use (the users
/// file's problems, for the engineer, in English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    UnknownUser {
        id: String,
    },
    WrongPin {
        user: String,
        left: u32,
    },
    Locked {
        user: String,
        lock: Duration,
        until: Timestamp,
        /// Whether this attempt locked it (rather than being refused while it was locked).
        new: bool,
        /// A try refused while locked: whether it is the first in this lock (the only one
        /// logged).
        first_refusal: bool,
    },
    NoSession,
    OtherConnection,
    WrongRole {
        needed: UserRole,
        have: UserRole,
    },
    SameVerifier,
    PinFormat {
        length: usize,
    },
    Config(String),
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            AuthError::UnknownUser { id } => tr!(
                "there is no user \"{id}\": pick your name on the screen, or check your user ID",
                id
            ),
            AuthError::WrongPin { user, left } => tr!(
                "wrong PIN for {user}: {left} more wrong PIN(s) and {user}'s login locks (other staff are not affected)",
                user,
                left
            ),
            AuthError::Locked { user, lock, .. } => tr!(
                "too many wrong PINs for {user}: {user}'s login is locked for {lock}. Other staff can log in, and Stop delivery needs no login",
                user,
                lock = lock_words(lock)
            ),
            AuthError::NoSession => {
                tr!("not logged in, or the session ended after 3 minutes idle: log in again")
                    .to_owned()
            }
            AuthError::OtherConnection => {
                tr!("this login belongs to another screen or program: log in here").to_owned()
            }
            AuthError::WrongRole { needed, have } => tr!(
                "a {needed} must do this (logged in as {have})",
                needed = needed.words(),
                have = have.words()
            ),
            AuthError::SameVerifier => {
                tr!("the second check must be by another nurse or clinician").to_owned()
            }
            AuthError::PinFormat { length } => tr!(
                "a PIN is {min} to {max} digits and nothing else (this one has {length} characters)",
                min = MIN_PIN_DIGITS,
                max = MAX_PIN_DIGITS,
                length
            ),
            // For the engineer who keeps the users file.
            AuthError::Config(e) => format!("the users file: {e}"),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for AuthError {}

/// The connection a call comes from: a session is valid only from the one that opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// The daemon's own process (the desktop demo's screens, tests): no D-Bus in between.
    Local,
    /// A client on a message bus: its unique name (":1.42"), which the bus never gives to
    /// another connection while it runs, and its Unix user (from `GetConnectionCredentials`).
    Bus {
        unique_name: String,
        uid: Option<u32>,
    },
    /// The single client of a peer-to-peer connection: its process and Unix user, from the
    /// socket.
    Direct { pid: Option<u32>, uid: Option<u32> },
}

impl Peer {
    /// Whether a call from `other` comes through the same connection as this one. On a bus the
    /// unique name decides (the Unix user was checked when it logged in).
    pub fn same_connection(&self, other: &Peer) -> bool {
        match (self, other) {
            (Peer::Local, Peer::Local) => true,
            (Peer::Bus { unique_name: a, .. }, Peer::Bus { unique_name: b, .. }) => a == b,
            (Peer::Direct { pid: a, uid: ua }, Peer::Direct { pid: b, uid: ub }) => {
                a.is_some() && a == b && ua == ub
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uid = |u: &Option<u32>| u.map_or_else(|| "?".to_owned(), |u| u.to_string());
        match self {
            Peer::Local => write!(f, "the pump's own screen"),
            Peer::Bus {
                unique_name,
                uid: u,
            } => write!(f, "{unique_name} (uid {})", uid(u)),
            Peer::Direct { pid, uid: u } => write!(
                f,
                "a direct connection (pid {}, uid {})",
                pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                uid(u)
            ),
        }
    }
}

#[derive(Debug, Clone)]
struct Session {
    token: String,
    user: usize,
    peer: Peer,
    last_used: Timestamp,
}

/// A logged-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub name: String,
    pub role: UserRole,
}

/// One user's wrong PINs since their last right one, and their lock.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Attempts {
    failures: u32,
    /// How long the lock had still to run when last saved (0: none); a restart locks again
    /// for that long.
    lock_ms: u64,
    #[serde(skip)]
    locked_until: Option<Timestamp>,
    /// Whether a try during the running lock was already refused (and logged): further tries
    /// in the same lock are refused without another log row, so hammering a locked login
    /// cannot grow the trial log.
    #[serde(skip)]
    refused_in_lock: bool,
}

/// The lock after `failures` wrong PINs in a row: none up to [`FREE_TRIES`] - 1, then
/// [`FIRST_LOCK`] doubling with each further one, at most [`LONGEST_LOCK`].
pub fn lock_after(failures: u32) -> Option<Duration> {
    let beyond = failures.checked_sub(FREE_TRIES)?;
    let factor = 1u64.checked_shl(beyond.min(32)).unwrap_or(u64::MAX);
    let ms = FIRST_LOCK.ms().saturating_mul(factor);
    Some(Duration::from_ms(ms.min(LONGEST_LOCK.ms())))
}

pub struct Auth {
    users: Vec<User>,
    sessions: Vec<Session>,
    attempts: BTreeMap<String, Attempts>,
    /// Where the attempts are kept across restarts (beside the trial log); None: in memory.
    attempts_file: Option<PathBuf>,
}

/// 16 random bytes from the operating system.
fn random_bytes() -> Result<[u8; 16], AuthError> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
    Ok(b)
}

/// argon2id with 1 MiB and 4 passes. A PIN has too few values for any hash cost to stop an
/// offline search; what protects it is the per-user lock and the file's permissions. The cost
/// is kept small so that a login does not grow the daemon by tens of MB.
fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params =
        argon2::Params::new(1024, 4, 1, None).map_err(|e| AuthError::Config(e.to_string()))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// Whether `pin` has the form of a PIN: [`MIN_PIN_DIGITS`] to [`MAX_PIN_DIGITS`] ASCII digits.
pub fn check_pin_format(pin: &str) -> Result<(), AuthError> {
    let length = pin.chars().count();
    if (MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&length)
        && pin.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(AuthError::PinFormat { length })
    }
}

/// The argon2 hash of a PIN, as a PHC string for the users file; a PIN of the wrong form is
/// refused.
pub fn hash_pin(pin: &str) -> Result<String, AuthError> {
    check_pin_format(pin)?;
    let salt =
        SaltString::encode_b64(&random_bytes()?).map_err(|e| AuthError::Config(e.to_string()))?;
    hasher()?
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Config(e.to_string()))
}

fn pin_matches(pin: &str, hash: &str) -> bool {
    check_pin_format(pin).is_ok()
        && PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(pin.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Checks a users file's content: IDs well formed and unique, names present and unique, hashes
/// readable.
fn check_users(users: &[User]) -> Result<(), AuthError> {
    let mut ids = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for u in users {
        if !valid_id(&u.id) {
            return Err(AuthError::Config(format!(
                "user \"{}\": id: use 1 to {MAX_ID} lower-case letters, digits, '.', '_' or '-'",
                u.id
            )));
        }
        let name = u.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AuthError::Config(format!(
                "user {}: name: 1 to {MAX_NAME} characters",
                u.id
            )));
        }
        if !ids.insert(u.id.as_str()) {
            return Err(AuthError::Config(format!("user {}: id used twice", u.id)));
        }
        if !names.insert(name) {
            return Err(AuthError::Config(format!(
                "user {}: the name \"{name}\" is used twice (staff pick their name on the screen)",
                u.id
            )));
        }
        PasswordHash::new(&u.pin_hash)
            .map_err(|e| AuthError::Config(format!("user {}: pin_hash: {e}", u.id)))?;
    }
    Ok(())
}

impl Auth {
    pub fn new(users: Vec<User>) -> Result<Auth, AuthError> {
        check_users(&users)?;
        Ok(Auth {
            users,
            sessions: Vec::new(),
            attempts: BTreeMap::new(),
            attempts_file: None,
        })
    }

    /// Reads a users file (TOML: `[[user]] id, name, role, pin_hash`).
    pub fn from_file(path: &Path) -> Result<Auth, AuthError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Config(format!("cannot read {}: {e}", path.display())))?;
        let file: UsersFile = toml::from_str(&text)
            .map_err(|e| AuthError::Config(format!("{}: {e}", path.display())))?;
        Auth::new(file.user)
    }

    /// Demo users for the simulator and the desktop demo only: nurse `nurse` "123456", second
    /// nurse `nurse2` "567890", clinician `clinician` "246810". Never used with real hardware.
    pub fn demo() -> Result<Auth, AuthError> {
        let user = |id: &str, name: &str, role, pin| -> Result<User, AuthError> {
            Ok(User {
                id: id.to_owned(),
                name: name.to_owned(),
                role,
                pin_hash: hash_pin(pin)?,
            })
        };
        Auth::new(vec![
            user("nurse", "Demo Nurse", UserRole::Nurse, "123456")?,
            user("nurse2", "Demo Nurse 2", UserRole::Nurse, "567890")?,
            user("clinician", "Demo Clinician", UserRole::Clinician, "246810")?,
        ])
    }

    /// Keeps the wrong-PIN counts and locks in `path` (JSON), reading what is there at `now`: a
    /// lock that was running when the file was written runs again for what it had left.
    pub fn keep_attempts_in(&mut self, path: PathBuf, now: Timestamp) -> Result<(), AuthError> {
        let read = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<BTreeMap<String, Attempts>>(&text)
                .map_err(|e| AuthError::Config(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(AuthError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        };
        self.attempts_file = Some(path);
        let mut attempts = read?;
        for a in attempts.values_mut() {
            a.locked_until = (a.lock_ms > 0).then(|| now + Duration::from_ms(a.lock_ms));
        }
        self.attempts = attempts;
        Ok(())
    }

    /// Writes the counts and locks to their file (a new file renamed over the old, so a power
    /// cut leaves one or the other).
    fn save(&mut self, now: Timestamp) {
        let Some(path) = &self.attempts_file else {
            return;
        };
        self.attempts.retain(|_, a| a.failures > 0);
        for a in self.attempts.values_mut() {
            a.lock_ms = a
                .locked_until
                .filter(|&u| u > now)
                .map_or(0, |u| u.since(now).ms());
        }
        let result = serde_json::to_vec_pretty(&self.attempts)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                let tmp = path.with_extension("json.new");
                std::fs::write(&tmp, json)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, path)
            });
        if let Err(e) = result {
            tracing::error!(path = %path.display(), error = %e,
                "cannot keep the wrong-PIN counts: a restart would forget them");
        }
    }

    /// The staff the login screen lists, in the users file's order.
    pub fn staff(&self) -> Vec<Staff> {
        self.users
            .iter()
            .map(|u| Staff {
                id: u.id.clone(),
                name: u.name.clone(),
                role: u.role,
            })
            .collect()
    }

    fn user_index(&self, id: &str) -> Result<usize, AuthError> {
        self.users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| AuthError::UnknownUser {
                id: id.chars().take(MAX_ID).collect(),
            })
    }

    /// The lock on `user` at `now`, if any.
    pub fn locked_until(&self, id: &str, now: Timestamp) -> Option<Timestamp> {
        self.attempts
            .get(id)
            .and_then(|a| a.locked_until)
            .filter(|&u| now < u)
    }

    /// When the newest lock still running at `now` began (for the idle screen), if any.
    pub fn newest_lock(&self, now: Timestamp) -> Option<Timestamp> {
        self.attempts
            .values()
            .filter_map(|a| {
                let until = a.locked_until.filter(|&u| now < u)?;
                let lock = lock_after(a.failures).unwrap_or(FIRST_LOCK);
                Some(Timestamp::from_ms(until.ms().saturating_sub(lock.ms())))
            })
            .max()
    }

    /// Checks user `user`'s PIN, counting a wrong one against that user alone.
    fn check_pin(&mut self, user: usize, pin: &str, now: Timestamp) -> Result<(), AuthError> {
        let id = self.users[user].id.clone();
        let name = self.users[user].name.clone();
        if let Some(until) = self.locked_until(&id, now) {
            let a = self.attempts.entry(id).or_default();
            let first = !std::mem::replace(&mut a.refused_in_lock, true);
            return Err(AuthError::Locked {
                user: name,
                lock: lock_after(a.failures).unwrap_or(FIRST_LOCK),
                until,
                new: false,
                first_refusal: first,
            });
        }
        if pin_matches(pin, &self.users[user].pin_hash) {
            if self.attempts.remove(&id).is_some() {
                self.save(now);
            }
            return Ok(());
        }
        let a = self.attempts.entry(id).or_default();
        a.failures = a.failures.saturating_add(1);
        let failures = a.failures;
        let error = match lock_after(failures) {
            Some(lock) => {
                let until = now + lock;
                a.locked_until = Some(until);
                a.refused_in_lock = false;
                AuthError::Locked {
                    user: name,
                    lock,
                    until,
                    new: true,
                    first_refusal: false,
                }
            }
            None => AuthError::WrongPin {
                user: name,
                left: FREE_TRIES - failures,
            },
        };
        self.save(now);
        Err(error)
    }

    /// Logs user `id` in with their PIN, from `peer`. Returns the session token.
    pub fn login(
        &mut self,
        id: &str,
        pin: &str,
        peer: Peer,
        now: Timestamp,
    ) -> Result<(String, Caller), AuthError> {
        let user = self.user_index(id)?;
        self.check_pin(user, pin, now)?;
        let token: String = random_bytes()?.iter().map(|b| format!("{b:02x}")).collect();
        self.sessions
            .retain(|s| now.since(s.last_used) < SESSION_IDLE);
        self.sessions.push(Session {
            token: token.clone(),
            user,
            peer,
            last_used: now,
        });
        Ok((token, self.caller(user)))
    }

    fn caller(&self, user: usize) -> Caller {
        let u = &self.users[user];
        Caller {
            id: u.id.clone(),
            name: u.name.clone(),
            role: u.role,
        }
    }

    /// Ends the session of `token`; returns who it was, if it was alive.
    pub fn logout(&mut self, token: &str) -> Option<Caller> {
        let i = self.sessions.iter().position(|s| s.token == token)?;
        let s = self.sessions.remove(i);
        Some(self.caller(s.user))
    }

    /// Ends every session opened from `peer` (its connection went away); returns who they were.
    pub fn end_sessions_of(&mut self, peer: &Peer) -> Vec<Caller> {
        let (ended, kept): (Vec<Session>, Vec<Session>) = std::mem::take(&mut self.sessions)
            .into_iter()
            .partition(|s| s.peer.same_connection(peer));
        self.sessions = kept;
        ended.iter().map(|s| self.caller(s.user)).collect()
    }

    /// Refuses `token` from any connection but the one that logged in. An unknown token passes
    /// here: the call's own check then says there is no session.
    pub fn check_peer(&self, token: &str, peer: &Peer) -> Result<(), AuthError> {
        match self.sessions.iter().find(|s| s.token == token) {
            Some(s) if !s.peer.same_connection(peer) => Err(AuthError::OtherConnection),
            _ => Ok(()),
        }
    }

    /// The caller behind `token`, if its session is alive; touching it keeps it alive.
    pub fn session(&mut self, token: &str, now: Timestamp) -> Result<Caller, AuthError> {
        self.sessions
            .retain(|s| now.since(s.last_used) < SESSION_IDLE);
        let s = self
            .sessions
            .iter_mut()
            .find(|s| s.token == token)
            .ok_or(AuthError::NoSession)?;
        s.last_used = now;
        let user = s.user;
        Ok(self.caller(user))
    }

    /// As [`Auth::session`], requiring one of `roles`.
    pub fn require(
        &mut self,
        token: &str,
        now: Timestamp,
        roles: &[UserRole],
    ) -> Result<Caller, AuthError> {
        let caller = self.session(token, now)?;
        if roles.contains(&caller.role) {
            Ok(caller)
        } else {
            Err(AuthError::WrongRole {
                needed: roles.first().copied().unwrap_or(UserRole::Nurse),
                have: caller.role,
            })
        }
    }

    /// A second person checking `caller`'s change: user `id` (someone else) with their PIN. A
    /// wrong PIN counts against that user alone.
    pub fn verifier(
        &mut self,
        id: &str,
        pin: &str,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<Caller, AuthError> {
        let user = self.user_index(id)?;
        if self.users[user].id == caller.id {
            return Err(AuthError::SameVerifier);
        }
        self.check_pin(user, pin, now)?;
        Ok(self.caller(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::from_ms(s * 1000)
    }

    fn screen() -> Peer {
        Peer::Bus {
            unique_name: ":1.7".to_owned(),
            uid: Some(990),
        }
    }

    #[test]
    fn staff_log_in_by_name_and_pin_with_their_role_and_pins_are_stored_hashed() {
        let mut a = Auth::demo().unwrap();
        assert!(
            a.users
                .iter()
                .all(|u| u.pin_hash.starts_with("$argon2id$") && !u.pin_hash.contains("123456"))
        );
        let listed: Vec<String> = a.staff().into_iter().map(|s| s.id).collect();
        assert_eq!(listed, ["nurse", "nurse2", "clinician"]);
        let (token, caller) = a.login("clinician", "246810", Peer::Local, t(0)).unwrap();
        assert_eq!(caller.role, UserRole::Clinician);
        assert_eq!(a.session(&token, t(10)).unwrap().name, "Demo Clinician");
        assert!(matches!(
            a.require(&token, t(20), &[UserRole::Nurse]),
            Err(AuthError::WrongRole { .. })
        ));
        // The PIN alone no longer identifies anyone: the nurse's PIN under the clinician's name.
        assert!(matches!(
            a.login("clinician", "123456", Peer::Local, t(30)),
            Err(AuthError::WrongPin { .. })
        ));
        assert_eq!(
            a.login("nobody", "123456", Peer::Local, t(30)),
            Err(AuthError::UnknownUser {
                id: "nobody".to_owned()
            })
        );
    }

    #[test]
    fn a_pin_is_six_to_twelve_digits() {
        for bad in ["12345", "1234567890123", "12345a", " 123456", "١٢٣٤٥٦"] {
            assert!(
                matches!(hash_pin(bad), Err(AuthError::PinFormat { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(
            hash_pin("1234").unwrap_err().to_string(),
            "a PIN is 6 to 12 digits and nothing else (this one has 4 characters)"
        );
        for good in ["123456", "123456789012"] {
            assert!(hash_pin(good).unwrap().starts_with("$argon2id$"));
        }
    }

    #[test]
    fn sessions_end_after_three_idle_minutes_and_on_logout() {
        let mut a = Auth::demo().unwrap();
        let (token, _) = a.login("nurse", "123456", Peer::Local, t(0)).unwrap();
        assert!(a.session(&token, t(170)).is_ok());
        // Touched at 170 s: alive until 350 s.
        assert!(a.session(&token, t(349)).is_ok());
        assert_eq!(a.session(&token, t(529)), Err(AuthError::NoSession));
        let (token, _) = a.login("nurse", "123456", Peer::Local, t(600)).unwrap();
        assert_eq!(a.logout(&token).unwrap().name, "Demo Nurse");
        assert_eq!(a.session(&token, t(601)), Err(AuthError::NoSession));
    }

    #[test]
    fn the_back_off_grows_per_user_from_one_minute_to_an_hour() {
        let mins = |f| lock_after(f).map(|d: Duration| d.ms() / 60_000);
        assert_eq!(mins(1), None);
        assert_eq!(mins(2), None);
        assert_eq!(mins(3), Some(1));
        assert_eq!(mins(4), Some(2));
        assert_eq!(mins(5), Some(4));
        assert_eq!(mins(8), Some(32));
        assert_eq!(mins(9), Some(60));
        assert_eq!(mins(u32::MAX), Some(60));
    }

    #[test]
    fn wrong_pins_lock_that_user_only_and_the_lock_grows() {
        let mut a = Auth::demo().unwrap();
        for left in [2, 1] {
            assert_eq!(
                a.login("nurse", "000000", Peer::Local, t(0)),
                Err(AuthError::WrongPin {
                    user: "Demo Nurse".to_owned(),
                    left
                })
            );
        }
        assert_eq!(
            a.login("nurse", "000000", Peer::Local, t(1)),
            Err(AuthError::Locked {
                user: "Demo Nurse".to_owned(),
                lock: Duration::from_mins(1),
                until: t(61),
                new: true,
                first_refusal: false,
            })
        );
        // Even the right PIN is refused while locked, and that is not a new lock; only the
        // first refusal in a lock is marked to be logged.
        assert!(matches!(
            a.login("nurse", "123456", Peer::Local, t(30)),
            Err(AuthError::Locked {
                new: false,
                first_refusal: true,
                ..
            })
        ));
        assert!(matches!(
            a.login("nurse", "123456", Peer::Local, t(31)),
            Err(AuthError::Locked {
                new: false,
                first_refusal: false,
                ..
            })
        ));
        // Everyone else logs in.
        assert!(a.login("nurse2", "567890", Peer::Local, t(30)).is_ok());
        assert!(a.login("clinician", "246810", Peer::Local, t(30)).is_ok());
        // After the lock, one more wrong PIN locks for twice as long.
        assert!(matches!(
            a.login("nurse", "000000", Peer::Local, t(61)),
            Err(AuthError::Locked { lock, new: true, .. }) if lock == Duration::from_mins(2)
        ));
        // The right PIN after the lock clears the count.
        assert!(a.login("nurse", "123456", Peer::Local, t(181)).is_ok());
        assert!(matches!(
            a.login("nurse", "000000", Peer::Local, t(182)),
            Err(AuthError::WrongPin { left: 2, .. })
        ));
    }

    #[test]
    fn counts_and_locks_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("titra-attempts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("logins.json");
        let _ = std::fs::remove_file(&file);
        let mut a = Auth::demo().unwrap();
        a.keep_attempts_in(file.clone(), t(0)).unwrap();
        for _ in 0..3 {
            let _ = a.login("nurse", "000000", Peer::Local, t(0));
        }
        let _ = a.login("nurse2", "000000", Peer::Local, t(0));
        // The daemon restarts; its clock starts again from the recovered trial's time.
        let mut b = Auth::demo().unwrap();
        b.keep_attempts_in(file.clone(), t(5)).unwrap();
        assert!(matches!(
            b.login("nurse", "123456", Peer::Local, t(10)),
            Err(AuthError::Locked { until, .. }) if until == t(65)
        ));
        assert!(matches!(
            b.login("nurse2", "000000", Peer::Local, t(10)),
            Err(AuthError::WrongPin { left: 1, .. })
        ));
        assert!(b.login("nurse", "123456", Peer::Local, t(65)).is_ok());
        let kept = std::fs::read_to_string(&file).unwrap();
        assert!(
            !kept.contains("\"nurse\""),
            "a right PIN clears the count: {kept}"
        );
        assert!(!kept.contains("123456") && !kept.contains("000000"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_session_answers_only_the_connection_that_opened_it() {
        let mut a = Auth::demo().unwrap();
        let (token, _) = a.login("nurse", "123456", screen(), t(0)).unwrap();
        assert_eq!(a.check_peer(&token, &screen()), Ok(()));
        let other = Peer::Bus {
            unique_name: ":1.99".to_owned(),
            uid: Some(990),
        };
        assert_eq!(
            a.check_peer(&token, &other),
            Err(AuthError::OtherConnection)
        );
        assert_eq!(
            a.check_peer(&token, &Peer::Local),
            Err(AuthError::OtherConnection)
        );
        // A direct connection without a process ID is no one's.
        let unknown = Peer::Direct {
            pid: None,
            uid: None,
        };
        assert!(!unknown.same_connection(&unknown));
        // The screen's connection goes away: its sessions end.
        let ended = a.end_sessions_of(&screen());
        assert_eq!(ended.len(), 1);
        assert_eq!(a.session(&token, t(1)), Err(AuthError::NoSession));
    }

    #[test]
    fn the_second_check_must_be_someone_else_and_a_wrong_pin_locks_no_one_else() {
        let mut a = Auth::demo().unwrap();
        let (_, nurse) = a.login("nurse", "123456", Peer::Local, t(0)).unwrap();
        assert_eq!(
            a.verifier("nurse", "123456", &nurse, t(1)),
            Err(AuthError::SameVerifier)
        );
        assert_eq!(
            a.verifier("nurse2", "567890", &nurse, t(1)).unwrap().name,
            "Demo Nurse 2"
        );
        for _ in 0..3 {
            assert!(a.verifier("nurse2", "999999", &nurse, t(1)).is_err());
        }
        assert!(a.locked_until("nurse2", t(2)).is_some());
        assert_eq!(a.locked_until("nurse", t(2)), None);
        assert_eq!(a.locked_until("clinician", t(2)), None);
        assert!(a.verifier("clinician", "246810", &nurse, t(2)).is_ok());
    }

    #[test]
    fn a_users_file_is_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("titra-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.toml");
        let hash = hash_pin("432100").unwrap();
        let write = |body: String| std::fs::write(&path, body).unwrap();
        write(format!(
            "[[user]]\nid = \"sam\"\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"{hash}\"\n"
        ));
        let mut a = Auth::from_file(&path).unwrap();
        assert_eq!(
            a.login("sam", "432100", Peer::Local, t(0)).unwrap().1.name,
            "Sam"
        );
        write(
            "[[user]]\nid = \"sam\"\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"4321\"\n"
                .to_owned(),
        );
        let e = Auth::from_file(&path).err().unwrap().to_string();
        assert!(e.contains("user sam: pin_hash"), "{e}");
        write(format!(
            "[[user]]\nid = \"Sam!\"\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"{hash}\"\n"
        ));
        let e = Auth::from_file(&path).err().unwrap().to_string();
        assert!(e.contains("id: use 1 to 32"), "{e}");
        write(format!(
            "[[user]]\nid = \"a\"\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"{hash}\"\n\
             [[user]]\nid = \"b\"\nname = \"Sam\"\nrole = \"clinician\"\npin_hash = \"{hash}\"\n"
        ));
        let e = Auth::from_file(&path).err().unwrap().to_string();
        assert!(e.contains("used twice"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
