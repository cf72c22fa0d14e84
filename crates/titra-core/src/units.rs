//! Quantities with their units, held as exact integers.
//!
//! Every quantity the pump reasons about has its own type, so that a volume can never be passed
//! where a dose is meant. Inside, each is an integer count of a small base unit:
//!
//! | type            | base unit         | largest accepted          |
//! |-----------------|-------------------|---------------------------|
//! | [`Amount`]        | nanogram (ng)     | 10 g                      |
//! | [`Volume`]        | nanolitre (nL)    | 1 L                       |
//! | [`Concentration`] | ng per mL         | 1 g/mL                    |
//! | [`AmountRate`]    | ng per day        | 10 g/day                  |
//! | [`VolumeRate`]    | nL per day        | 1 L/day                   |
//! | [`Duration`]      | millisecond (ms)  | 366 days                  |
//!
//! Rates are kept per day because intrathecal doses are prescribed per day; a rate typed per
//! hour is multiplied by 24, which is exact. Text is parsed without floating point: `0.05 mg` is
//! read as the digits `5` with two decimals and scaled, and a value that does not land on a whole
//! base unit is refused rather than rounded. Arithmetic that could round says which way it rounds
//! and why (towards the patient's safety: deliver no more, count no less).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub(crate) const NG_PER_MCG: u64 = 1_000;
pub(crate) const NG_PER_MG: u64 = 1_000_000;
pub(crate) const NL_PER_UL: u64 = 1_000;
pub(crate) const NL_PER_ML: u64 = 1_000_000;
pub(crate) const MS_PER_S: u64 = 1_000;
pub(crate) const MS_PER_MIN: u64 = 60 * MS_PER_S;
pub(crate) const MS_PER_H: u64 = 60 * MS_PER_MIN;
pub(crate) const MS_PER_DAY: u64 = 24 * MS_PER_H;

/// Why a text could not be read as a quantity. The caller adds the field's name (see
/// [`FieldError`]); the message itself names the text, what was expected and any limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("is empty; expected {expected}, for example \"{example}\"")]
    Empty {
        expected: &'static str,
        example: &'static str,
    },
    #[error(
        "\"{text}\" is not a number followed by a unit; expected {expected}, for example \"{example}\""
    )]
    Malformed {
        text: String,
        expected: &'static str,
        example: &'static str,
    },
    #[error("\"{text}\" is not a finite number; expected {expected}")]
    NotFinite {
        text: String,
        expected: &'static str,
    },
    #[error("\"{text}\" is negative; {expected} cannot be negative")]
    Negative {
        text: String,
        expected: &'static str,
    },
    #[error("\"{text}\" must be more than zero")]
    Zero { text: String },
    #[error("\"{text}\" is {found}, but {expected} is needed (units: {accepted})")]
    WrongKind {
        text: String,
        found: &'static str,
        expected: &'static str,
        accepted: &'static str,
    },
    #[error("\"{text}\": unknown unit \"{unit}\"; expected {expected} (units: {accepted})")]
    UnknownUnit {
        text: String,
        unit: String,
        expected: &'static str,
        accepted: &'static str,
    },
    #[error("\"{text}\" is more than {max}, which is not plausible for {expected}")]
    Absurd {
        text: String,
        max: &'static str,
        expected: &'static str,
    },
    #[error("\"{text}\" is more precise than the pump can count ({resolution})")]
    TooPrecise {
        text: String,
        resolution: &'static str,
    },
}

/// A [`UnitError`] with the name of the field it came from, e.g. `program.basal`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {source}")]
pub struct FieldError {
    pub field: String,
    pub source: UnitError,
}

/// Parses `text` as a quantity of type `T`, naming `field` in the error.
pub fn parse_field<T>(field: &str, text: &str) -> Result<T, FieldError>
where
    T: FromStr<Err = UnitError>,
{
    text.parse().map_err(|source| FieldError {
        field: field.to_owned(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading text

/// What a quantity type expects, for messages.
struct Expect {
    what: &'static str,
    example: &'static str,
    accepted: &'static str,
    max: u64,
    max_text: &'static str,
    resolution: &'static str,
}

/// A non-negative decimal read exactly: `digits / 10^scale`.
struct Decimal {
    digits: u128,
    scale: u32,
}

impl Decimal {
    /// `self × factor`, refused unless it is a whole number no larger than `max`.
    fn scaled(&self, factor: u64, text: &str, expect: &Expect) -> Result<u64, UnitError> {
        let absurd = || UnitError::Absurd {
            text: text.to_owned(),
            max: expect.max_text,
            expected: expect.what,
        };
        let divisor = 10u128.checked_pow(self.scale).ok_or_else(absurd)?;
        let product = self
            .digits
            .checked_mul(u128::from(factor))
            .ok_or_else(absurd)?;
        if product % divisor != 0 {
            return Err(UnitError::TooPrecise {
                text: text.to_owned(),
                resolution: expect.resolution,
            });
        }
        let value = product / divisor;
        if value > u128::from(expect.max) {
            return Err(absurd());
        }
        u64::try_from(value).map_err(|_| absurd())
    }
}

/// Splits `"0.05 mg"` into the exact number and the unit text.
fn split_number<'a>(text: &'a str, expect: &Expect) -> Result<(Decimal, &'a str), UnitError> {
    let malformed = || UnitError::Malformed {
        text: text.to_owned(),
        expected: expect.what,
        example: expect.example,
    };
    let lower = text.to_ascii_lowercase();
    if ["inf", "+inf", "-inf", "nan", "+nan", "-nan"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(UnitError::NotFinite {
            text: text.to_owned(),
            expected: expect.what,
        });
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, rest) = body.split_at(end);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
        return Err(malformed());
    }
    // "1e3 mg" would otherwise read as 1 with the unit "e3 mg".
    if rest.starts_with(['e', 'E'])
        && rest[1..].starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
    {
        return Err(malformed());
    }
    let mut digits: u128 = 0;
    for c in int_part.chars().chain(frac_part.chars()) {
        let d = u128::from(c.to_digit(10).ok_or_else(malformed)?);
        digits = digits
            .checked_mul(10)
            .and_then(|v| v.checked_add(d))
            .ok_or_else(|| UnitError::Absurd {
                text: text.to_owned(),
                max: expect.max_text,
                expected: expect.what,
            })?;
    }
    let scale = u32::try_from(frac_part.len()).map_err(|_| malformed())?;
    if negative && digits != 0 {
        return Err(UnitError::Negative {
            text: text.to_owned(),
            expected: expect.what,
        });
    }
    Ok((Decimal { digits, scale }, rest.trim()))
}

/// The kinds of unit text we know, so that a wrong kind can be named as such.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Amount(u64),
    Volume(u64),
    Concentration(u64),
    AmountRate(u64),
    VolumeRate(u64),
    Time(u64),
}

impl UnitKind {
    fn name(self) -> &'static str {
        match self {
            UnitKind::Amount(_) => "an amount of drug",
            UnitKind::Volume(_) => "a volume",
            UnitKind::Concentration(_) => "a concentration",
            UnitKind::AmountRate(_) => "a dose rate",
            UnitKind::VolumeRate(_) => "a volume rate",
            UnitKind::Time(_) => "a duration",
        }
    }
}

fn mass_unit(u: &str) -> Option<u64> {
    match u {
        "mg" => Some(NG_PER_MG),
        "mcg" | "µg" | "μg" | "ug" => Some(NG_PER_MCG),
        _ => None,
    }
}

fn volume_unit(u: &str) -> Option<u64> {
    match u {
        "ml" => Some(NL_PER_ML),
        "µl" | "μl" | "ul" => Some(NL_PER_UL),
        _ => None,
    }
}

/// Multiplier to turn "per this period" into "per day".
fn per_period(u: &str) -> Option<u64> {
    match u {
        "day" | "d" | "24h" => Some(1),
        "h" | "hr" | "hour" => Some(24),
        _ => None,
    }
}

fn time_unit(u: &str) -> Option<u64> {
    match u {
        "ms" => Some(1),
        "s" | "sec" => Some(MS_PER_S),
        "min" => Some(MS_PER_MIN),
        "h" | "hr" => Some(MS_PER_H),
        "d" | "day" | "days" => Some(MS_PER_DAY),
        _ => None,
    }
}

fn classify(unit: &str) -> Option<UnitKind> {
    let u = unit.to_lowercase();
    let u = u.replace(' ', "");
    if let Some(f) = mass_unit(&u) {
        return Some(UnitKind::Amount(f));
    }
    if let Some(f) = volume_unit(&u) {
        return Some(UnitKind::Volume(f));
    }
    if let Some(f) = time_unit(&u) {
        return Some(UnitKind::Time(f));
    }
    let (num, den) = u.split_once('/')?;
    if let (Some(m), Some(v)) = (mass_unit(num), volume_unit(den)) {
        // ng per mL: m ng per (v nL) = m × 10^6 / v ng per mL.
        return Some(UnitKind::Concentration(m * (NL_PER_ML / v)));
    }
    if let (Some(m), Some(p)) = (mass_unit(num), per_period(den)) {
        return Some(UnitKind::AmountRate(m * p));
    }
    if let (Some(v), Some(p)) = (volume_unit(num), per_period(den)) {
        return Some(UnitKind::VolumeRate(v * p));
    }
    None
}

/// Reads a single "number unit" quantity whose unit must be of the kind `pick` accepts.
fn parse_quantity(
    text: &str,
    expect: &Expect,
    pick: fn(UnitKind) -> Option<u64>,
) -> Result<u64, UnitError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(UnitError::Empty {
            expected: expect.what,
            example: expect.example,
        });
    }
    let (number, unit) = split_number(text, expect)?;
    if unit.is_empty() {
        return Err(UnitError::Malformed {
            text: text.to_owned(),
            expected: expect.what,
            example: expect.example,
        });
    }
    let kind = classify(unit).ok_or_else(|| UnitError::UnknownUnit {
        text: text.to_owned(),
        unit: unit.to_owned(),
        expected: expect.what,
        accepted: expect.accepted,
    })?;
    let factor = pick(kind).ok_or_else(|| UnitError::WrongKind {
        text: text.to_owned(),
        found: kind.name(),
        expected: expect.what,
        accepted: expect.accepted,
    })?;
    number.scaled(factor, text, expect)
}

// ---------------------------------------------------------------------------------------------
// Writing text

/// Writes `value / divisor` as a decimal with no trailing zeros (`1500, 1000` → `1.5`).
fn write_decimal(f: &mut fmt::Formatter<'_>, value: u64, divisor: u64) -> fmt::Result {
    let int = value / divisor;
    let frac = value % divisor;
    if frac == 0 {
        return write!(f, "{int}");
    }
    let mut width = 0;
    let mut d = divisor;
    while d > 1 {
        d /= 10;
        width += 1;
    }
    let mut digits = format!("{frac:0width$}");
    while digits.ends_with('0') {
        digits.pop();
    }
    write!(f, "{int}.{digits}")
}

/// Writes `value / divisor` rounded to at most `places` decimals (display only, never parsed
/// back into an amount that is delivered).
fn write_rounded(
    f: &mut fmt::Formatter<'_>,
    value: u128,
    divisor: u128,
    places: u32,
) -> fmt::Result {
    let scale = 10u128.pow(places);
    let scaled = (value * scale + divisor / 2) / divisor;
    let int = scaled / scale;
    let frac = scaled % scale;
    if frac == 0 {
        return write!(f, "{int}");
    }
    let mut digits = format!("{frac:0width$}", width = places as usize);
    while digits.ends_with('0') {
        digits.pop();
    }
    write!(f, "{int}.{digits}")
}

/// The unit a dose is written in. Drugs dosed in micrograms (sufentanil, ziconotide, clonidine,
/// baclofen) are shown in mcg; the others in mg. The drug library says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MassUnit {
    #[serde(rename = "mg")]
    Mg,
    #[serde(rename = "mcg")]
    Mcg,
}

impl MassUnit {
    /// Nanograms in one of this unit.
    pub(crate) fn ng(self) -> u64 {
        match self {
            MassUnit::Mg => NG_PER_MG,
            MassUnit::Mcg => NG_PER_MCG,
        }
    }
}

impl fmt::Display for MassUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MassUnit::Mg => "mg",
            MassUnit::Mcg => "mcg",
        })
    }
}

/// The unit a quantity is written in by default: mg from 0.1 mg up, mcg below.
fn auto_unit(ng: u64) -> MassUnit {
    if ng >= NG_PER_MG / 10 || ng == 0 {
        MassUnit::Mg
    } else {
        MassUnit::Mcg
    }
}

// ---------------------------------------------------------------------------------------------
// The quantity types

macro_rules! text_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An amount of drug, in nanograms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u64);

const AMOUNT: Expect = Expect {
    what: "an amount of drug",
    example: "0.05 mg",
    accepted: "mg, mcg",
    max: 10_000 * NG_PER_MG,
    max_text: "10000 mg",
    resolution: "0.001 mcg",
};

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub const fn from_ng(ng: u64) -> Self {
        Amount(ng)
    }
    pub const fn from_mcg(mcg: u64) -> Self {
        Amount(mcg * NG_PER_MCG)
    }
    pub const fn from_mg(mg: u64) -> Self {
        Amount(mg * NG_PER_MG)
    }
    pub const fn ng(self) -> u64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// In milligrams, for reports and JSON (never for accounting).
    pub fn as_mg_f64(self) -> f64 {
        self.0 as f64 / NG_PER_MG as f64
    }
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }
    /// Written in the given unit, e.g. `0.05 mg` or `50 mcg`.
    pub fn in_unit(self, unit: MassUnit) -> impl fmt::Display {
        Shown(move |f: &mut fmt::Formatter<'_>| {
            write_decimal(f, self.0, unit.ng())?;
            write!(f, " {unit}")
        })
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    /// Saturates: totals are bounded far below `u64::MAX` ng (18 tonnes) by the parse limits.
    fn add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, other: Amount) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

impl FromStr for Amount {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_quantity(s, &AMOUNT, |k| match k {
            UnitKind::Amount(f) => Some(f),
            _ => None,
        })
        .map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.in_unit(auto_unit(self.0)))
    }
}
text_serde!(Amount);

/// A volume of solution, in nanolitres.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Volume(u64);

const VOLUME: Expect = Expect {
    what: "a volume",
    example: "20 mL",
    accepted: "mL, µL (or uL)",
    max: 1_000 * NL_PER_ML,
    max_text: "1000 mL",
    resolution: "0.001 µL",
};

impl Volume {
    pub const ZERO: Volume = Volume(0);

    pub const fn from_nl(nl: u64) -> Self {
        Volume(nl)
    }
    pub const fn from_ul(ul: u64) -> Self {
        Volume(ul * NL_PER_UL)
    }
    pub const fn from_ml(ml: u64) -> Self {
        Volume(ml * NL_PER_ML)
    }
    pub const fn nl(self) -> u64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// In millilitres, for reports and JSON (never for accounting).
    pub fn as_ml_f64(self) -> f64 {
        self.0 as f64 / NL_PER_ML as f64
    }
    pub fn saturating_sub(self, other: Volume) -> Volume {
        Volume(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Add for Volume {
    type Output = Volume;
    fn add(self, other: Volume) -> Volume {
        Volume(self.0.saturating_add(other.0))
    }
}

impl FromStr for Volume {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_quantity(s, &VOLUME, |k| match k {
            UnitKind::Volume(f) => Some(f),
            _ => None,
        })
        .map(Volume)
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= NL_PER_ML / 10 || self.0 == 0 {
            write_decimal(f, self.0, NL_PER_ML)?;
            f.write_str(" mL")
        } else {
            write_decimal(f, self.0, NL_PER_UL)?;
            f.write_str(" µL")
        }
    }
}
text_serde!(Volume);

/// Drug per volume of solution, in ng per mL. Always more than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Concentration(u64);

const CONCENTRATION: Expect = Expect {
    what: "a concentration",
    example: "1 mg/mL",
    accepted: "mg/mL, mcg/mL",
    max: 1_000 * NG_PER_MG,
    max_text: "1000 mg/mL",
    resolution: "0.001 mcg/mL",
};

impl Concentration {
    /// `None` for zero: a solution with no drug in it is not a concentration the pump can use.
    pub const fn from_ng_per_ml(ng: u64) -> Option<Self> {
        if ng == 0 {
            None
        } else {
            Some(Concentration(ng))
        }
    }
    pub const fn ng_per_ml(self) -> u64 {
        self.0
    }
    pub fn as_mg_per_ml_f64(self) -> f64 {
        self.0 as f64 / NG_PER_MG as f64
    }
    /// The volume that carries `amount`, rounded down to the nanolitre so that what is pumped
    /// never carries more than the dose asked for.
    pub fn volume_for(self, amount: Amount) -> Volume {
        let nl = u128::from(amount.0) * u128::from(NL_PER_ML) / u128::from(self.0);
        Volume(u64::try_from(nl).unwrap_or(u64::MAX))
    }
    /// The drug carried by `volume`, rounded up to the nanogram so that a count of what reached
    /// the patient is never short.
    pub fn amount_in(self, volume: Volume) -> Amount {
        let ng = (u128::from(volume.0) * u128::from(self.0)).div_ceil(u128::from(NL_PER_ML));
        Amount(u64::try_from(ng).unwrap_or(u64::MAX))
    }
    /// The dose rate of a volume rate at this concentration, rounded up (it counts as dose).
    pub fn amount_rate(self, rate: VolumeRate) -> AmountRate {
        let ng = (u128::from(rate.0) * u128::from(self.0)).div_ceil(u128::from(NL_PER_ML));
        AmountRate(u64::try_from(ng).unwrap_or(u64::MAX))
    }
    /// The volume rate that carries a dose rate, rounded down.
    pub fn volume_rate(self, rate: AmountRate) -> VolumeRate {
        let nl = u128::from(rate.0) * u128::from(NL_PER_ML) / u128::from(self.0);
        VolumeRate(u64::try_from(nl).unwrap_or(u64::MAX))
    }
    /// Written with the given unit of mass, e.g. `1 mg/mL` or `25 mcg/mL`.
    pub fn in_unit(self, unit: MassUnit) -> impl fmt::Display {
        Shown(move |f: &mut fmt::Formatter<'_>| {
            write_decimal(f, self.0, unit.ng())?;
            write!(f, " {unit}/mL")
        })
    }
}

impl FromStr for Concentration {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        let ng = parse_quantity(s, &CONCENTRATION, |k| match k {
            UnitKind::Concentration(f) => Some(f),
            _ => None,
        })?;
        Concentration::from_ng_per_ml(ng).ok_or_else(|| UnitError::Zero {
            text: s.trim().to_owned(),
        })
    }
}

impl fmt::Display for Concentration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.in_unit(auto_unit(self.0)))
    }
}
text_serde!(Concentration);

/// A dose rate, in ng per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AmountRate(u64);

const AMOUNT_RATE: Expect = Expect {
    what: "a dose rate",
    example: "0.5 mg/day",
    accepted: "mg/day, mcg/day, mg/h, mcg/h",
    max: 10_000 * NG_PER_MG,
    max_text: "10000 mg/day",
    resolution: "0.001 mcg/day",
};

impl AmountRate {
    pub const ZERO: AmountRate = AmountRate(0);

    pub const fn from_ng_per_day(ng: u64) -> Self {
        AmountRate(ng)
    }
    pub const fn ng_per_day(self) -> u64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// The amount one day at this rate delivers.
    pub fn per_day(self) -> Amount {
        Amount(self.0)
    }
    /// What this rate delivers over `d`, rounded down: the ideal of a delivery that must never
    /// run ahead of its prescription.
    pub fn over(self, d: Duration) -> Amount {
        let ng = u128::from(self.0) * u128::from(d.0) / u128::from(MS_PER_DAY);
        Amount(u64::try_from(ng).unwrap_or(u64::MAX))
    }
    /// What this rate delivers over `d`, rounded up: for limits that must not be under-estimated.
    pub fn over_ceil(self, d: Duration) -> Amount {
        let ng = (u128::from(self.0) * u128::from(d.0)).div_ceil(u128::from(MS_PER_DAY));
        Amount(u64::try_from(ng).unwrap_or(u64::MAX))
    }
    /// Per day in the given unit, e.g. `0.5 mg/day`.
    pub fn per_day_in(self, unit: MassUnit) -> impl fmt::Display {
        Shown(move |f: &mut fmt::Formatter<'_>| {
            write_decimal(f, self.0, unit.ng())?;
            write!(f, " {unit}/day")
        })
    }
    /// Per hour in the given unit, rounded for display to 4 decimals, e.g. `0.0208 mg/h`.
    pub fn per_hour_in(self, unit: MassUnit) -> impl fmt::Display {
        Shown(move |f: &mut fmt::Formatter<'_>| {
            write_rounded(f, u128::from(self.0), u128::from(unit.ng()) * 24, 4)?;
            write!(f, " {unit}/h")
        })
    }
}

impl std::ops::Add for AmountRate {
    type Output = AmountRate;
    fn add(self, other: AmountRate) -> AmountRate {
        AmountRate(self.0.saturating_add(other.0))
    }
}

impl FromStr for AmountRate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_quantity(s, &AMOUNT_RATE, |k| match k {
            UnitKind::AmountRate(f) => Some(f),
            _ => None,
        })
        .map(AmountRate)
    }
}

impl fmt::Display for AmountRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.per_day_in(auto_unit(self.0)))
    }
}
text_serde!(AmountRate);

/// A volume rate, in nL per day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumeRate(u64);

const VOLUME_RATE: Expect = Expect {
    what: "a volume rate",
    example: "0.5 mL/day",
    accepted: "mL/day, µL/day, mL/h, µL/h",
    max: 1_000 * NL_PER_ML,
    max_text: "1000 mL/day",
    resolution: "0.001 µL/day",
};

impl VolumeRate {
    pub const ZERO: VolumeRate = VolumeRate(0);

    pub const fn from_nl_per_day(nl: u64) -> Self {
        VolumeRate(nl)
    }
    pub const fn nl_per_day(self) -> u64 {
        self.0
    }
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
    /// The volume over `d`, rounded down.
    pub fn over(self, d: Duration) -> Volume {
        let nl = u128::from(self.0) * u128::from(d.0) / u128::from(MS_PER_DAY);
        Volume(u64::try_from(nl).unwrap_or(u64::MAX))
    }
    /// Per hour in mL, rounded for display, e.g. `0.0208 mL/h`.
    /// Rates under 1 µL/h (ziconotide at a fraction of a mcg a day) are written in µL/h, so that
    /// a rate that runs is never shown as "0 mL/h".
    pub fn per_hour(self) -> impl fmt::Display {
        Shown(move |f: &mut fmt::Formatter<'_>| {
            if self.0 > 0 && self.0 < 24 * 1000 {
                write_rounded(f, u128::from(self.0), 24 * 1000, 4)?;
                return f.write_str(" µL/h");
            }
            write_rounded(f, u128::from(self.0), u128::from(NL_PER_ML) * 24, 4)?;
            f.write_str(" mL/h")
        })
    }
}

impl std::ops::Add for VolumeRate {
    type Output = VolumeRate;
    fn add(self, other: VolumeRate) -> VolumeRate {
        VolumeRate(self.0.saturating_add(other.0))
    }
}

impl FromStr for VolumeRate {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        parse_quantity(s, &VOLUME_RATE, |k| match k {
            UnitKind::VolumeRate(f) => Some(f),
            _ => None,
        })
        .map(VolumeRate)
    }
}

impl fmt::Display for VolumeRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_decimal(f, self.0, NL_PER_ML)?;
        f.write_str(" mL/day")
    }
}
text_serde!(VolumeRate);

/// A span of time, in milliseconds. Written as `90s`, `15min`, `1h`, `3d` or combinations such
/// as `1d 6h` and `2h 10min`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(u64);

const DURATION: Expect = Expect {
    what: "a duration",
    example: "1d 6h",
    accepted: "ms, s, min, h, d",
    max: 366 * MS_PER_DAY,
    max_text: "366 days",
    resolution: "1 ms",
};

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_ms(ms: u64) -> Self {
        Duration(ms)
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(s * MS_PER_S)
    }
    pub const fn from_mins(m: u64) -> Self {
        Duration(m * MS_PER_MIN)
    }
    pub const fn from_hours(h: u64) -> Self {
        Duration(h * MS_PER_H)
    }
    pub const fn from_days(d: u64) -> Self {
        Duration(d * MS_PER_DAY)
    }
    pub const fn ms(self) -> u64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub fn as_hours_f64(self) -> f64 {
        self.0 as f64 / MS_PER_H as f64
    }
    pub fn saturating_sub(self, other: Duration) -> Duration {
        Duration(self.0.saturating_sub(other.0))
    }
}

impl std::ops::Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, n: u64) -> Duration {
        Duration(self.0.saturating_mul(n))
    }
}

impl std::ops::Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
}

impl FromStr for Duration {
    type Err = UnitError;
    fn from_str(s: &str) -> Result<Self, UnitError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(UnitError::Empty {
                expected: DURATION.what,
                example: DURATION.example,
            });
        }
        let malformed = || UnitError::Malformed {
            text: text.to_owned(),
            expected: DURATION.what,
            example: DURATION.example,
        };
        // One or more "number unit" parts: "1d 6h", "2h10min", "90s".
        let mut total: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let (number, after) = split_number(rest, &DURATION)?;
            let unit_len = after
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(after.len());
            let (unit, tail) = after.split_at(unit_len);
            if unit.is_empty() {
                return Err(malformed());
            }
            let kind = classify(unit).ok_or_else(|| UnitError::UnknownUnit {
                text: text.to_owned(),
                unit: unit.to_owned(),
                expected: DURATION.what,
                accepted: DURATION.accepted,
            })?;
            let UnitKind::Time(factor) = kind else {
                // "5 mg/day" arrives here as unit "mg"; name the whole unit kind.
                let found = classify(after.split_whitespace().next().unwrap_or(unit))
                    .unwrap_or(kind)
                    .name();
                return Err(UnitError::WrongKind {
                    text: text.to_owned(),
                    found,
                    expected: DURATION.what,
                    accepted: DURATION.accepted,
                });
            };
            let part = number.scaled(factor, text, &DURATION)?;
            total = total.saturating_add(part);
            if total > DURATION.max {
                return Err(UnitError::Absurd {
                    text: text.to_owned(),
                    max: DURATION.max_text,
                    expected: DURATION.what,
                });
            }
            rest = tail.trim_start();
            if rest.starts_with('-') {
                return Err(UnitError::Negative {
                    text: text.to_owned(),
                    expected: DURATION.what,
                });
            }
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let parts = [
            (MS_PER_DAY, "d"),
            (MS_PER_H, "h"),
            (MS_PER_MIN, "min"),
            (MS_PER_S, "s"),
            (1, "ms"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (size, name) in parts {
            let n = rest / size;
            rest %= size;
            if n > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{n}{name}")?;
                first = false;
            }
        }
        Ok(())
    }
}
text_serde!(Duration);

/// A moment on the pump's monotonic clock, in ms since its origin (the trial's start in the
/// simulator). Monotonic: a change of the wall clock never moves it, so lockouts and rolling
/// windows cannot be shortened by setting the clock.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const ORIGIN: Timestamp = Timestamp(0);

    pub const fn from_ms(ms: u64) -> Self {
        Timestamp(ms)
    }
    pub const fn ms(self) -> u64 {
        self.0
    }
    /// Time from `earlier` to `self`; zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
    /// The moment `d` before this one, or the origin.
    pub fn saturating_back(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.0))
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for Timestamp {
    /// Written as time since the origin, e.g. `T+1d 2h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T+{}", Duration(self.0))
    }
}

/// Adapts a closure to [`fmt::Display`].
struct Shown<F>(F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Shown<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: FromStr<Err = UnitError> + fmt::Debug>(s: &str) -> String {
        s.parse::<T>().unwrap_err().to_string()
    }

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!("0.05 mg".parse::<Amount>(), Ok(Amount::from_ng(50_000)));
        assert_eq!("50 mcg".parse::<Amount>(), Ok(Amount::from_mcg(50)));
        assert_eq!("50 µg".parse::<Amount>(), Ok(Amount::from_mcg(50)));
        assert_eq!("50ug".parse::<Amount>(), Ok(Amount::from_mcg(50)));
        assert_eq!("  0.2 mg ".parse::<Amount>(), Ok(Amount::from_ng(200_000)));
        assert_eq!(".5 mg".parse::<Amount>(), Ok(Amount::from_ng(500_000)));
        assert_eq!("0 mg".parse::<Amount>(), Ok(Amount::ZERO));
        assert_eq!("-0 mg".parse::<Amount>(), Ok(Amount::ZERO));
        assert_eq!("1 MG".parse::<Amount>(), Ok(Amount::from_mg(1)));
    }

    #[test]
    fn each_kind_is_read_up_to_its_maximum_and_refused_past_it() {
        assert_eq!("10000 mg".parse::<Amount>(), Ok(Amount::from_mg(10_000)));
        assert!(err::<Amount>("10000.000001 mg").contains("10000 mg"));
        assert_eq!("1000 mL".parse::<Volume>(), Ok(Volume::from_ml(1000)));
        assert!("1000.000001 mL".parse::<Volume>().is_err());
        assert_eq!("366d".parse::<Duration>(), Ok(Duration::from_days(366)));
        // A duration's parts are added up before the maximum is checked.
        assert!(
            err::<Duration>("366d 1ms").contains("366"),
            "the sum is too long"
        );
        assert!("365d 24h 1ms".parse::<Duration>().is_err());
    }

    #[test]
    fn a_number_in_exponent_form_is_malformed_not_an_unknown_unit() {
        for text in ["1e3 mg", "1e-3 mg", "1E+3 mg"] {
            assert!(
                matches!(text.parse::<Amount>(), Err(UnitError::Malformed { .. })),
                "{text}: {:?}",
                text.parse::<Amount>()
            );
        }
        // A unit that starts with an e is still a unit (and here, not one we know).
        assert!(matches!(
            "1 em".parse::<Amount>(),
            Err(UnitError::UnknownUnit { .. })
        ));
    }

    #[test]
    fn concentrations_per_microlitre_are_converted_to_per_millilitre() {
        assert_eq!(
            "1 mcg/µL"
                .parse::<Concentration>()
                .map(Concentration::ng_per_ml),
            Ok(1_000_000)
        );
        assert_eq!(
            "0.5 mg/uL"
                .parse::<Concentration>()
                .map(Concentration::ng_per_ml),
            Ok(500_000_000)
        );
    }

    #[test]
    fn arithmetic_and_conversions_for_reports() {
        let ng = Amount::from_ng;
        assert_eq!(ng(1_500_000).as_mg_f64(), 1.5);
        assert_eq!(ng(1).checked_add(ng(2)), Some(ng(3)));
        assert_eq!(ng(u64::MAX).checked_add(ng(1)), None);
        let ul = Volume::from_ul;
        assert_eq!(ul(2500).as_ml_f64(), 2.5);
        assert_eq!(ul(2) + ul(3), ul(5));
        assert_eq!(ul(5).saturating_sub(ul(2)), ul(3));
        assert_eq!(ul(2).saturating_sub(ul(5)), Volume::ZERO);
        let c: Concentration = "2.5 mg/mL".parse().unwrap();
        assert_eq!(c.as_mg_per_ml_f64(), 2.5);
        let c: Concentration = "2 mg/mL".parse().unwrap();
        assert_eq!(
            c.volume_rate("1 mg/day".parse().unwrap()),
            "0.5 mL/day".parse().unwrap()
        );
        let r: AmountRate = "0.5 mg/day".parse().unwrap();
        assert_eq!(r.per_day(), ng(500_000));
        let v: VolumeRate = "2.4 mL/day".parse().unwrap();
        assert_eq!(v.over(Duration::from_hours(1)), ul(100));
        assert_eq!(
            v.over(Duration::from_mins(1)),
            Volume::from_nl(1_666),
            "rounded down"
        );
        assert_eq!(v + v, "4.8 mL/day".parse().unwrap());
        assert_eq!(Duration::from_mins(90).as_hours_f64(), 1.5);
        assert_eq!(Duration::from_mins(15) * 4, Duration::from_hours(1));
        assert_eq!(Duration::from_ms(u64::MAX) * 2, Duration::from_ms(u64::MAX));
        assert_eq!(
            (Timestamp::ORIGIN + Duration::from_hours(26)).to_string(),
            "T+1d 2h"
        );
    }

    #[test]
    fn a_volume_rate_of_one_microlitre_an_hour_is_written_in_millilitres() {
        let per_hour = |nl_per_day| {
            VolumeRate::from_nl_per_day(nl_per_day)
                .per_hour()
                .to_string()
        };
        assert_eq!(per_hour(24_000), "0.001 mL/h");
        assert_eq!(per_hour(23_999), "1 µL/h");
        assert_eq!(per_hour(12_000), "0.5 µL/h");
        assert_eq!(per_hour(0), "0 mL/h");
    }

    #[test]
    fn volumes_accept_ml_and_microlitres() {
        assert_eq!("20 mL".parse::<Volume>(), Ok(Volume::from_ml(20)));
        assert_eq!("20 ml".parse::<Volume>(), Ok(Volume::from_ml(20)));
        assert_eq!("100 µL".parse::<Volume>(), Ok(Volume::from_ul(100)));
        assert_eq!("100 uL".parse::<Volume>(), Ok(Volume::from_ul(100)));
        assert_eq!("0.5 uL".parse::<Volume>(), Ok(Volume::from_nl(500)));
    }

    #[test]
    fn concentrations_and_rates() {
        let c: Concentration = "1 mg/mL".parse().unwrap();
        assert_eq!(c.ng_per_ml(), 1_000_000);
        assert_eq!(
            "25 mcg/mL".parse::<Concentration>().unwrap().ng_per_ml(),
            25_000
        );
        assert_eq!(
            "0.5 mg/day".parse::<AmountRate>(),
            Ok(AmountRate::from_ng_per_day(500_000))
        );
        // Per hour is kept per day: × 24, exactly.
        assert_eq!(
            "0.05 mg/h".parse::<AmountRate>(),
            Ok(AmountRate::from_ng_per_day(1_200_000))
        );
        assert_eq!(
            "2.4 mcg/day".parse::<AmountRate>(),
            Ok(AmountRate::from_ng_per_day(2_400))
        );
        assert_eq!(
            "0.1 mL/h".parse::<VolumeRate>(),
            Ok(VolumeRate::from_nl_per_day(2_400_000))
        );
        assert_eq!(
            "10 µL/day".parse::<VolumeRate>(),
            Ok(VolumeRate::from_nl_per_day(10_000))
        );
    }

    #[test]
    fn durations_in_every_form() {
        let d = |s: &str| s.parse::<Duration>().unwrap();
        assert_eq!(d("90s"), Duration::from_secs(90));
        assert_eq!(d("15min"), Duration::from_mins(15));
        assert_eq!(d("1h"), Duration::from_hours(1));
        assert_eq!(d("3d"), Duration::from_days(3));
        assert_eq!(d("1d 6h"), Duration::from_hours(30));
        assert_eq!(d("2h 10min"), Duration::from_mins(130));
        assert_eq!(d("31h 5min"), Duration::from_mins(31 * 60 + 5));
        assert_eq!(d("2h10min"), Duration::from_mins(130));
        assert_eq!(d("0h"), Duration::ZERO);
        assert_eq!(d("1.5h"), Duration::from_mins(90));
        assert_eq!(d("250ms"), Duration::from_ms(250));
    }

    #[test]
    fn values_print_in_the_forms_they_are_typed() {
        assert_eq!(Amount::from_ng(500_000).to_string(), "0.5 mg");
        assert_eq!(Amount::from_ng(50_000).to_string(), "50 mcg");
        assert_eq!(
            Amount::from_ng(50_000).in_unit(MassUnit::Mg).to_string(),
            "0.05 mg"
        );
        assert_eq!(Amount::from_ng(1_500).to_string(), "1.5 mcg");
        assert_eq!(Volume::from_ml(20).to_string(), "20 mL");
        assert_eq!(Volume::from_ul(50).to_string(), "50 µL");
        assert_eq!(
            "1 mg/mL".parse::<Concentration>().unwrap().to_string(),
            "1 mg/mL"
        );
        assert_eq!(
            AmountRate::from_ng_per_day(500_000).to_string(),
            "0.5 mg/day"
        );
        assert_eq!(
            AmountRate::from_ng_per_day(500_000)
                .per_hour_in(MassUnit::Mg)
                .to_string(),
            "0.0208 mg/h"
        );
        assert_eq!(Duration::from_hours(30).to_string(), "1d 6h");
        assert_eq!(Duration::from_mins(130).to_string(), "2h 10min");
        assert_eq!(Duration::from_secs(90).to_string(), "1min 30s");
        assert_eq!(Duration::ZERO.to_string(), "0s");
        assert_eq!(
            VolumeRate::from_nl_per_day(2_400_000)
                .per_hour()
                .to_string(),
            "0.1 mL/h"
        );
    }

    #[test]
    fn a_volume_where_an_amount_is_needed_is_named_as_such() {
        assert_eq!(
            err::<Amount>("20 mL"),
            "\"20 mL\" is a volume, but an amount of drug is needed (units: mg, mcg)"
        );
        assert_eq!(
            err::<AmountRate>("0.5 mg"),
            "\"0.5 mg\" is an amount of drug, but a dose rate is needed (units: mg/day, mcg/day, mg/h, mcg/h)"
        );
        assert_eq!(
            err::<Duration>("5 mg/day"),
            "\"5 mg/day\" is a dose rate, but a duration is needed (units: ms, s, min, h, d)"
        );
    }

    #[test]
    fn unknown_units_are_refused_by_name() {
        assert_eq!(
            err::<AmountRate>("1 mg/kg"),
            "\"1 mg/kg\": unknown unit \"mg/kg\"; expected a dose rate (units: mg/day, mcg/day, mg/h, mcg/h)"
        );
        // Grams are not accepted at all: a 1000-fold slip is too easy.
        assert!(err::<Amount>("1 g").contains("unknown unit \"g\""));
        assert!(err::<Duration>("5 m").contains("unknown unit \"m\""));
    }

    #[test]
    fn bad_numbers_are_refused() {
        assert_eq!(
            err::<Amount>("-1 mg"),
            "\"-1 mg\" is negative; an amount of drug cannot be negative"
        );
        assert_eq!(
            err::<Amount>("NaN mg"),
            "\"NaN mg\" is not a finite number; expected an amount of drug"
        );
        assert_eq!(
            err::<Amount>("inf mg"),
            "\"inf mg\" is not a finite number; expected an amount of drug"
        );
        assert_eq!(
            err::<Amount>(""),
            "is empty; expected an amount of drug, for example \"0.05 mg\""
        );
        assert_eq!(
            err::<Amount>("mg"),
            "\"mg\" is not a number followed by a unit; expected an amount of drug, for example \"0.05 mg\""
        );
        assert!(err::<Amount>("5").contains("not a number followed by a unit"));
        assert!(err::<Amount>("1e3 mg").contains("not a number followed by a unit"));
        assert!(err::<Amount>("1.2.3 mg").contains("not a number followed by a unit"));
        assert_eq!(
            err::<Amount>("20000 mg"),
            "\"20000 mg\" is more than 10000 mg, which is not plausible for an amount of drug"
        );
        assert!(
            err::<Amount>("99999999999999999999999999999999999999999 mg").contains("not plausible")
        );
        assert_eq!(
            err::<Amount>("0.0000001 mg"),
            "\"0.0000001 mg\" is more precise than the pump can count (0.001 mcg)"
        );
        assert_eq!(
            err::<Concentration>("0 mg/mL"),
            "\"0 mg/mL\" must be more than zero"
        );
        assert!(err::<Duration>("400d").contains("366 days"));
        assert!(err::<Duration>("1h -5min").contains("negative"));
        assert!(err::<Duration>("1h 5").contains("not a number followed by a unit"));
    }

    #[test]
    fn field_errors_name_the_field() {
        let e = parse_field::<AmountRate>("program.basal", "50 mg/kg").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("program.basal: \"50 mg/kg\": unknown unit")
        );
    }

    #[test]
    fn conversions_round_towards_safety() {
        let c: Concentration = "3 mg/mL".parse().unwrap();
        // 1 ng at 3 mg/mL is 0.333 nL: pumped volume rounds down ...
        assert_eq!(c.volume_for(Amount::from_ng(1)), Volume::from_nl(0));
        // ... and the count of drug in a volume rounds up.
        assert_eq!(c.amount_in(Volume::from_nl(1)), Amount::from_ng(3));
        let r = AmountRate::from_ng_per_day(1);
        assert_eq!(r.over(Duration::from_hours(1)), Amount::ZERO);
        assert_eq!(r.over_ceil(Duration::from_hours(1)), Amount::from_ng(1));
        assert_eq!(r.over(Duration::from_days(1)), Amount::from_ng(1));
    }

    proptest::proptest! {
        #[test]
        fn amounts_round_trip_through_text(ng in 0u64..=10_000 * NG_PER_MG) {
            let a = Amount::from_ng(ng);
            proptest::prop_assert_eq!(a.to_string().parse::<Amount>(), Ok(a));
            proptest::prop_assert_eq!(a.in_unit(MassUnit::Mcg).to_string().parse::<Amount>(), Ok(a));
        }

        #[test]
        fn durations_round_trip_through_text(ms in 0u64..=366 * MS_PER_DAY) {
            let d = Duration::from_ms(ms);
            proptest::prop_assert_eq!(d.to_string().parse::<Duration>(), Ok(d));
        }

        #[test]
        fn rates_and_volumes_round_trip(x in 0u64..=1_000 * NL_PER_ML) {
            let v = Volume::from_nl(x);
            proptest::prop_assert_eq!(v.to_string().parse::<Volume>(), Ok(v));
            let r = AmountRate::from_ng_per_day(x);
            proptest::prop_assert_eq!(r.to_string().parse::<AmountRate>(), Ok(r));
            let vr = VolumeRate::from_nl_per_day(x);
            proptest::prop_assert_eq!(vr.to_string().parse::<VolumeRate>(), Ok(vr));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<Amount>();
            let _ = s.parse::<Duration>();
            let _ = s.parse::<AmountRate>();
            let _ = s.parse::<Concentration>();
        }
    }

    #[test]
    fn a_tiny_rate_that_runs_is_never_shown_as_zero() {
        let r = |s: &str| s.parse::<VolumeRate>().unwrap();
        assert_eq!(r("0.5 mL/day").per_hour().to_string(), "0.0208 mL/h");
        assert_eq!(r("0.001 mL/day").per_hour().to_string(), "0.0417 µL/h");
        assert_eq!(VolumeRate::ZERO.per_hour().to_string(), "0 mL/h");
    }
}
