//! Who may do what: nurses and clinicians log in with a PIN; the patient needs none and can only
//! ask for a bolus and record pain and side effects.
//!
//! PINs are stored as argon2id hashes (a users file, or demo users for the simulator). Five
//! wrong PINs in a row lock the login for five minutes; a session ends after three minutes
//! without a call (Open PCA's re-authentication). Time is injected.

use std::path::Path;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::core::units::{Duration, Timestamp};

pub(crate) const MAX_ATTEMPTS: u32 = 5;
pub(crate) const LOCKOUT: Duration = Duration::from_mins(5);
pub(crate) const SESSION_IDLE: Duration = Duration::from_mins(3);

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
}

/// A user as the users file holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub role: UserRole,
    /// argon2 PHC string, from `titra hash-pin`.
    pub pin_hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<User>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("wrong PIN ({left} tries left before the login locks for 5 minutes)")]
    WrongPin { left: u32 },
    #[error("too many wrong PINs: the login is locked until {until}")]
    Locked { until: Timestamp },
    #[error("not logged in, or the session ended after 3 minutes idle: log in again")]
    NoSession,
    #[error("a {needed} must do this (logged in as {have})")]
    WrongRole {
        needed: &'static str,
        have: &'static str,
    },
    #[error("the second check must be by another nurse or clinician")]
    SameVerifier,
    #[error("the users file: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
struct Session {
    token: String,
    user: usize,
    last_used: Timestamp,
}

/// A logged-in caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: UserRole,
}

pub struct Auth {
    users: Vec<User>,
    sessions: Vec<Session>,
    failures: u32,
    locked_until: Option<Timestamp>,
}

/// 16 random bytes from the operating system.
fn random_bytes() -> Result<[u8; 16], AuthError> {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
    Ok(b)
}

/// argon2id with 1 MiB and 4 passes. A 4-to-8-digit PIN has too few values for any hash cost
/// to stop an offline search; what protects it is the login lock and the file's permissions.
/// The cost is kept small so that a login does not grow the daemon by tens of MB.
fn hasher() -> Result<Argon2<'static>, AuthError> {
    let params =
        argon2::Params::new(1024, 4, 1, None).map_err(|e| AuthError::Config(e.to_string()))?;
    Ok(Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    ))
}

/// The argon2 hash of a PIN, as a PHC string for the users file.
pub fn hash_pin(pin: &str) -> Result<String, AuthError> {
    let salt =
        SaltString::encode_b64(&random_bytes()?).map_err(|e| AuthError::Config(e.to_string()))?;
    hasher()?
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Config(e.to_string()))
}

fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

impl Auth {
    pub fn new(users: Vec<User>) -> Auth {
        Auth {
            users,
            sessions: Vec::new(),
            failures: 0,
            locked_until: None,
        }
    }

    /// Reads a users file (TOML: `[[user]] name, role, pin_hash`).
    pub fn from_file(path: &Path) -> Result<Auth, AuthError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuthError::Config(format!("cannot read {}: {e}", path.display())))?;
        let file: UsersFile = toml::from_str(&text)
            .map_err(|e| AuthError::Config(format!("{}: {e}", path.display())))?;
        for u in &file.user {
            PasswordHash::new(&u.pin_hash)
                .map_err(|e| AuthError::Config(format!("user {}: pin_hash: {e}", u.name)))?;
        }
        Ok(Auth::new(file.user))
    }

    /// Demo users for the simulator and the desktop demo only: nurse "1234", second nurse
    /// "5678", clinician "2468". Never used with real hardware.
    pub fn demo() -> Result<Auth, AuthError> {
        Ok(Auth::new(vec![
            User {
                name: "Demo Nurse".to_owned(),
                role: UserRole::Nurse,
                pin_hash: hash_pin("1234")?,
            },
            User {
                name: "Demo Nurse 2".to_owned(),
                role: UserRole::Nurse,
                pin_hash: hash_pin("5678")?,
            },
            User {
                name: "Demo Clinician".to_owned(),
                role: UserRole::Clinician,
                pin_hash: hash_pin("2468")?,
            },
        ]))
    }

    fn find(&self, pin: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| pin_matches(pin, &u.pin_hash))
    }

    /// Logs in by PIN. Returns the session token.
    pub fn login(&mut self, pin: &str, now: Timestamp) -> Result<(String, Caller), AuthError> {
        if let Some(until) = self.locked_until {
            if now < until {
                return Err(AuthError::Locked { until });
            }
            self.locked_until = None;
            self.failures = 0;
        }
        let Some(user) = self.find(pin) else {
            self.failures += 1;
            if self.failures >= MAX_ATTEMPTS {
                let until = now + LOCKOUT;
                self.locked_until = Some(until);
                return Err(AuthError::Locked { until });
            }
            return Err(AuthError::WrongPin {
                left: MAX_ATTEMPTS - self.failures,
            });
        };
        self.failures = 0;
        let token: String = random_bytes()?.iter().map(|b| format!("{b:02x}")).collect();
        self.sessions
            .retain(|s| now.since(s.last_used) < SESSION_IDLE);
        self.sessions.push(Session {
            token: token.clone(),
            user,
            last_used: now,
        });
        Ok((token, self.caller(user)))
    }

    fn caller(&self, user: usize) -> Caller {
        Caller {
            name: self.users[user].name.clone(),
            role: self.users[user].role,
        }
    }

    pub fn logout(&mut self, token: &str) {
        self.sessions.retain(|s| s.token != token);
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
                needed: roles.first().map_or("nurse", |r| r.as_str()),
                have: caller.role.as_str(),
            })
        }
    }

    /// A second person's PIN, checking a change: another user than `caller`. Wrong PINs count
    /// toward the login lock too.
    pub fn verifier(
        &mut self,
        pin: &str,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<Caller, AuthError> {
        if let Some(until) = self.locked_until.filter(|&u| now < u) {
            return Err(AuthError::Locked { until });
        }
        match self.find(pin) {
            Some(user) => {
                let v = self.caller(user);
                if v.name == caller.name {
                    Err(AuthError::SameVerifier)
                } else {
                    self.failures = 0;
                    Ok(v)
                }
            }
            None => {
                self.failures += 1;
                if self.failures >= MAX_ATTEMPTS {
                    let until = now + LOCKOUT;
                    self.locked_until = Some(until);
                    return Err(AuthError::Locked { until });
                }
                Err(AuthError::WrongPin {
                    left: MAX_ATTEMPTS - self.failures,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Timestamp {
        Timestamp::from_ms(s * 1000)
    }

    #[test]
    fn pins_log_in_with_their_role_and_are_stored_hashed() {
        let mut a = Auth::demo().unwrap();
        assert!(
            a.users
                .iter()
                .all(|u| u.pin_hash.starts_with("$argon2id$") && !u.pin_hash.contains("1234"))
        );
        let (token, caller) = a.login("2468", t(0)).unwrap();
        assert_eq!(caller.role, UserRole::Clinician);
        assert_eq!(a.session(&token, t(10)).unwrap().name, "Demo Clinician");
        assert!(matches!(
            a.require(&token, t(20), &[UserRole::Nurse]),
            Err(AuthError::WrongRole { .. })
        ));
    }

    #[test]
    fn sessions_end_after_three_idle_minutes() {
        let mut a = Auth::demo().unwrap();
        let (token, _) = a.login("1234", t(0)).unwrap();
        assert!(a.session(&token, t(170)).is_ok());
        // Touched at 170 s: alive until 350 s.
        assert!(a.session(&token, t(349)).is_ok());
        assert_eq!(a.session(&token, t(529)), Err(AuthError::NoSession));
        let (token, _) = a.login("1234", t(600)).unwrap();
        a.logout(&token);
        assert_eq!(a.session(&token, t(601)), Err(AuthError::NoSession));
    }

    #[test]
    fn five_wrong_pins_lock_the_login_for_five_minutes() {
        let mut a = Auth::demo().unwrap();
        for left in (1..5).rev() {
            assert_eq!(a.login("0000", t(0)), Err(AuthError::WrongPin { left }));
        }
        assert_eq!(
            a.login("0000", t(1)),
            Err(AuthError::Locked { until: t(301) })
        );
        // Even the right PIN is refused while locked.
        assert_eq!(
            a.login("1234", t(200)),
            Err(AuthError::Locked { until: t(301) })
        );
        assert!(a.login("1234", t(301)).is_ok());
    }

    #[test]
    fn the_second_check_must_be_someone_else() {
        let mut a = Auth::demo().unwrap();
        let (_, nurse) = a.login("1234", t(0)).unwrap();
        assert_eq!(
            a.verifier("1234", &nurse, t(1)),
            Err(AuthError::SameVerifier)
        );
        assert_eq!(
            a.verifier("5678", &nurse, t(1)).unwrap().name,
            "Demo Nurse 2"
        );
        assert!(matches!(
            a.verifier("9999", &nurse, t(1)),
            Err(AuthError::WrongPin { .. })
        ));
    }

    #[test]
    fn a_users_file_is_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("titra-users-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.toml");
        let hash = hash_pin("4321").unwrap();
        std::fs::write(
            &path,
            format!("[[user]]\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"{hash}\"\n"),
        )
        .unwrap();
        let mut a = Auth::from_file(&path).unwrap();
        assert_eq!(a.login("4321", t(0)).unwrap().1.name, "Sam");
        std::fs::write(
            &path,
            "[[user]]\nname = \"Sam\"\nrole = \"nurse\"\npin_hash = \"4321\"\n",
        )
        .unwrap();
        assert!(
            Auth::from_file(&path)
                .err()
                .unwrap()
                .to_string()
                .contains("user Sam: pin_hash")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
