//! The load cell read at its own rate, on its own thread: every conversion the HX711 gives (10
//! a second, or 80 with RATE high) is added up, and a reading is the mean of the conversions
//! since the last. The occlusion detector's noise is then the sensor's over √n, n about 100 at
//! a reading every 10 s, instead of one conversion's: at a fixed false-alarm rate the time to
//! tell a blocked line's rise from the noise falls as (σ·√Δ)^(2/3) (issue 20, README "Occlusion
//! detection").

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::HwError;

/// The conversions since the last reading.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Samples {
    sum: i64,
    n: u32,
    /// The last conversion failed (unplugged, saturated): what a reading reports until one
    /// succeeds again.
    failing: Option<HwError>,
}

impl Samples {
    /// One conversion, or its failure.
    pub fn add(&mut self, conversion: Result<i32, HwError>) {
        match conversion {
            Ok(counts) => {
                self.sum += i64::from(counts);
                self.n = self.n.saturating_add(1);
                self.failing = None;
            }
            Err(e) => self.failing = Some(e),
        }
    }

    /// The mean counts since the last take, and how many conversions it is of; the failure
    /// when the last conversion failed; None when there is no conversion yet. Starts afresh.
    pub fn take(&mut self) -> Option<Result<(f64, u32), HwError>> {
        if let Some(e) = self.failing.take() {
            *self = Samples::default();
            return Some(Err(e));
        }
        if self.n == 0 {
            return None;
        }
        let mean = self.sum as f64 / f64::from(self.n);
        let n = self.n;
        *self = Samples::default();
        Some(Ok((mean, n)))
    }
}

/// The sampling thread's shared sums. The thread ends when this is dropped.
pub struct Sampler {
    shared: Arc<Mutex<Samples>>,
}

/// The least time between two conversions (the HX711's fastest rate is 80 a second): a reader
/// that answers at once (a broken line held low) cannot spin the thread.
const MIN_PERIOD: Duration = Duration::from_millis(12);
/// How long a reading waits for a first conversion, when there is none since the last: more
/// than one conversion at the slowest rate.
const WAIT_FOR_ONE: Duration = Duration::from_millis(150);

impl Sampler {
    /// Starts the thread, calling `convert` for each conversion (it waits for the chip).
    pub fn spawn(
        name: &str,
        mut convert: impl FnMut() -> Result<i32, HwError> + Send + 'static,
    ) -> std::io::Result<Sampler> {
        let shared = Arc::new(Mutex::new(Samples::default()));
        let weak: Weak<Mutex<Samples>> = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                loop {
                    let conversion = convert();
                    let Some(shared) = weak.upgrade() else {
                        return;
                    };
                    match shared.lock() {
                        Ok(mut s) => s.add(conversion),
                        Err(_) => return,
                    }
                    drop(shared);
                    std::thread::sleep(MIN_PERIOD);
                }
            })?;
        Ok(Sampler { shared })
    }

    /// The mean of the conversions since the last call (waiting up to [`WAIT_FOR_ONE`] for
    /// one if there is none yet), with their number.
    pub fn mean(&self) -> Result<(f64, u32), HwError> {
        let waited = std::time::Instant::now();
        loop {
            let taken = self
                .shared
                .lock()
                .map_err(|_| HwError::gpio("load cell", "its sampling thread failed"))?
                .take();
            if let Some(result) = taken {
                return result;
            }
            if waited.elapsed() >= WAIT_FOR_ONE {
                return Err(HwError::SensorNotReady);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_is_the_mean_of_the_conversions_since_the_last() {
        let mut s = Samples::default();
        assert_eq!(s.take(), None, "nothing yet");
        for c in [100, 102, 107] {
            s.add(Ok(c));
        }
        assert_eq!(s.take(), Some(Ok((103.0, 3))));
        assert_eq!(s.take(), None, "each conversion counts once");
        s.add(Ok(-5));
        assert_eq!(s.take(), Some(Ok((-5.0, 1))));
    }

    #[test]
    fn a_failing_conversion_is_reported_until_one_succeeds() {
        let mut s = Samples::default();
        s.add(Ok(10));
        s.add(Err(HwError::SensorNotReady));
        assert_eq!(s.take(), Some(Err(HwError::SensorNotReady)));
        s.add(Err(HwError::SensorOutOfRange { raw: 0x7F_FFFF }));
        s.add(Ok(20));
        assert_eq!(s.take(), Some(Ok((20.0, 1))), "recovered: the good one");
    }

    #[test]
    fn the_thread_sums_what_the_chip_gives_and_a_silent_chip_is_not_ready() {
        let mut next = 0;
        let sampler = Sampler::spawn("test-sampler", move || {
            next += 1;
            if next <= 4 {
                Ok(next * 10)
            } else {
                // Unplugged after four conversions: the chip waits a period and gives nothing.
                std::thread::sleep(Duration::from_millis(20));
                Err(HwError::SensorNotReady)
            }
        })
        .unwrap();
        // The four conversions arrive; a reading waits for the first if it comes early.
        let mut total = 0.0;
        let mut n = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while n < 4 && std::time::Instant::now() < deadline {
            if let Ok((mean, k)) = sampler.mean() {
                total += mean * f64::from(k);
                n += k;
            }
        }
        assert_eq!((total, n), (100.0, 4));
        // Then nothing but failures: not ready.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(sampler.mean(), Err(HwError::SensorNotReady));
    }
}
