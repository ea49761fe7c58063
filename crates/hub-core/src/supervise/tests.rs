use super::*;

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn restart(initial: u64, max: u64, stable: u64, max_restarts: u32, window: u64) -> RestartSettings {
    RestartSettings {
        initial_delay: secs(initial),
        max_delay: secs(max),
        stable_after: secs(stable),
        max_restarts,
        window: secs(window),
    }
}

fn delay(d: Decision) -> Duration {
    match d {
        Decision::Restart { delay, .. } => delay,
        other => panic!("expected a restart, got {other:?}"),
    }
}

// --- Backoff --------------------------------------------------------------------------------

#[test]
fn backoff_doubles_from_the_initial_delay_up_to_the_cap() {
    let mut b = Backoff::build(&restart(1, 20, 60, 10, 600), false);
    let got: Vec<(Duration, u32)> = (0..7).map(|_| b.next_delay()).collect();
    assert_eq!(
        got,
        [
            (secs(1), 1),
            (secs(2), 2),
            (secs(4), 3),
            (secs(8), 4),
            (secs(16), 5),
            (secs(20), 6),
            (secs(20), 7)
        ]
    );
}

#[test]
fn backoff_reset_starts_over() {
    let mut b = Backoff::build(&restart(1, 60, 60, 10, 600), false);
    b.next_delay();
    b.next_delay();
    assert_eq!(b.next_delay(), (secs(4), 3));
    b.reset();
    assert_eq!(b.next_delay(), (secs(1), 1));
}

#[test]
fn jitter_lengthens_each_delay_by_at_most_itself_and_never_passes_the_cap() {
    let settings = restart(1, 10, 60, 10, 600);
    let mut spread = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let mut b = Backoff::new(&settings);
        for (step, base) in [1u64, 2, 4, 8, 10, 10].into_iter().enumerate() {
            let (d, attempt) = b.next_delay();
            assert_eq!(attempt as usize, step + 1);
            assert!(d >= secs(base) && d <= secs((2 * base).min(10)), "step {step}: {d:?}");
            if step == 0 {
                spread.insert(d.as_millis());
            }
        }
    }
    assert!(spread.len() > 50, "jitter spreads the first delay: {} distinct values", spread.len());
}

#[test]
fn an_initial_delay_above_the_cap_is_capped() {
    let mut b = Backoff::build(&restart(90, 60, 60, 10, 600), false);
    assert_eq!(b.next_delay(), (secs(60), 1));
}

// --- Restart budget -------------------------------------------------------------------------

#[test]
fn failures_restart_with_growing_delays_then_give_up_past_the_budget() {
    let t0 = Instant::now();
    let mut r = Restarts::without_jitter(&restart(1, 60, 60, 3, 300));
    assert_eq!(r.on_failure(t0, None), Decision::Restart { delay: secs(1), attempt: 1 });
    assert_eq!(r.on_failure(t0 + secs(2), None), Decision::Restart { delay: secs(2), attempt: 2 });
    assert_eq!(r.on_failure(t0 + secs(5), None), Decision::Restart { delay: secs(4), attempt: 3 });
    assert_eq!(
        r.on_failure(t0 + secs(10), None),
        Decision::GiveUp { restarts: 3, window: secs(300) },
        "a fourth restart within the window is a storm"
    );
}

#[test]
fn the_window_slides_so_restarts_spread_out_in_time_never_give_up() {
    let t0 = Instant::now();
    let mut r = Restarts::without_jitter(&restart(1, 60, 3600, 2, 100));
    for i in 0..10 {
        let d = r.on_failure(t0 + secs(60 * i), Some(secs(30)));
        assert!(matches!(d, Decision::Restart { .. }), "failure {i}: {d:?}");
    }
    // Two restarts at 0 s and 50 s: the third within 100 s of the first gives up, but once the
    // first has left the window there is room again.
    let mut r = Restarts::without_jitter(&restart(1, 60, 3600, 2, 100));
    r.on_failure(t0, None);
    r.on_failure(t0 + secs(50), None);
    assert!(matches!(r.on_failure(t0 + secs(99), None), Decision::GiveUp { .. }));
    assert!(matches!(r.on_failure(t0 + secs(100), None), Decision::Restart { .. }));
}

#[test]
fn a_stable_run_resets_the_backoff_but_not_the_budget() {
    let t0 = Instant::now();
    let mut r = Restarts::without_jitter(&restart(1, 60, 60, 4, 3600));
    assert_eq!(delay(r.on_failure(t0, None)), secs(1));
    assert_eq!(delay(r.on_failure(t0 + secs(10), Some(secs(5)))), secs(2), "short run: no reset");
    assert_eq!(delay(r.on_failure(t0 + secs(20), Some(secs(59)))), secs(4));
    assert_eq!(
        r.on_failure(t0 + secs(200), Some(secs(60))),
        Decision::Restart { delay: secs(1), attempt: 1 },
        "a run of stable_after resets the schedule"
    );
    assert!(
        matches!(r.on_failure(t0 + secs(400), Some(secs(120))), Decision::GiveUp { .. }),
        "stable runs still count against the budget: a fifth restart within the hour"
    );
}

#[test]
fn max_restarts_zero_turns_restarts_off() {
    let mut r = Restarts::new(&restart(1, 60, 60, 0, 300));
    assert_eq!(r.on_failure(Instant::now(), None), Decision::Off);
}

#[test]
fn the_default_policy_gives_a_failing_server_minutes_not_seconds() {
    // What the defaults promise in the docs: about ten tries over roughly five minutes before
    // the hub gives up on a server that never starts.
    let t0 = Instant::now();
    let mut r = Restarts::without_jitter(&RestartSettings::default());
    let mut now = t0;
    let mut tries = 0;
    loop {
        match r.on_failure(now, None) {
            Decision::Restart { delay, .. } => {
                tries += 1;
                now += delay;
            }
            Decision::GiveUp { restarts, .. } => {
                assert_eq!(restarts, 10);
                break;
            }
            Decision::Off => panic!("restarts are on by default"),
        }
    }
    assert_eq!(tries, 10);
    let spent = now.duration_since(t0);
    assert!(spent >= secs(240) && spent <= secs(600), "{spent:?}");
}

// --- Breaker --------------------------------------------------------------------------------

fn breaker(failures: u32, cool_down: u64) -> Breaker {
    Breaker::new(&BreakerSettings { failures, cool_down: secs(cool_down) })
}

/// Admits a call at `now` and records its outcome.
fn call(b: &mut Breaker, now: Instant, ok: bool) -> (Admission, Transition) {
    let a = b.admit(now);
    let t = match a {
        Admission::Reject { .. } => Transition::None,
        _ => b.record(now, a, ok),
    };
    (a, t)
}

#[test]
fn consecutive_failures_open_the_breaker_and_a_success_in_between_resets_the_count() {
    let t0 = Instant::now();
    let mut b = breaker(3, 30);
    assert_eq!(call(&mut b, t0, false), (Admission::Pass, Transition::None));
    assert_eq!(call(&mut b, t0, false), (Admission::Pass, Transition::None));
    assert_eq!(b.failures(), 2);
    assert_eq!(call(&mut b, t0, true), (Admission::Pass, Transition::None));
    assert_eq!(b.failures(), 0, "a success (or a JSON-RPC error response) resets the count");
    call(&mut b, t0, false);
    call(&mut b, t0, false);
    assert!(b.is_closed());
    assert_eq!(call(&mut b, t0, false), (Admission::Pass, Transition::Opened));
    assert!(!b.is_closed());
}

#[test]
fn an_open_breaker_refuses_calls_and_says_when_it_will_retry() {
    let t0 = Instant::now();
    let mut b = breaker(1, 30);
    assert_eq!(call(&mut b, t0, false).1, Transition::Opened);
    assert_eq!(b.admit(t0 + secs(10)), Admission::Reject { retry_in: Some(secs(20)) });
    assert_eq!(b.admit(t0 + secs(29)), Admission::Reject { retry_in: Some(secs(1)) });
}

#[test]
fn after_the_cool_down_one_probe_goes_through_and_its_success_closes_the_breaker() {
    let t0 = Instant::now();
    let mut b = breaker(1, 30);
    call(&mut b, t0, false);
    let later = t0 + secs(30);
    assert_eq!(b.admit(later), Admission::Probe);
    assert_eq!(b.admit(later), Admission::Reject { retry_in: None }, "only one probe at a time");
    assert_eq!(b.record(later, Admission::Probe, true), Transition::Closed);
    assert!(b.is_closed());
    assert_eq!(b.admit(later), Admission::Pass);
}

#[test]
fn a_failed_probe_opens_the_breaker_for_another_cool_down() {
    let t0 = Instant::now();
    let mut b = breaker(2, 30);
    call(&mut b, t0, false);
    call(&mut b, t0, false);
    let probe_at = t0 + secs(31);
    assert_eq!(b.admit(probe_at), Admission::Probe);
    assert_eq!(b.record(probe_at, Admission::Probe, false), Transition::Opened);
    assert_eq!(b.admit(probe_at + secs(5)), Admission::Reject { retry_in: Some(secs(25)) });
    assert_eq!(b.admit(probe_at + secs(30)), Admission::Probe);
}

#[test]
fn an_abandoned_probe_lets_the_next_call_probe() {
    let t0 = Instant::now();
    let mut b = breaker(1, 5);
    call(&mut b, t0, false);
    assert_eq!(b.admit(t0 + secs(5)), Admission::Probe);
    b.abandon(Admission::Probe);
    assert_eq!(b.admit(t0 + secs(6)), Admission::Probe);
    b.abandon(Admission::Pass);
    assert_eq!(b.admit(t0 + secs(6)), Admission::Reject { retry_in: None }, "only a probe frees");
}

#[test]
fn late_outcomes_of_calls_admitted_before_it_opened_do_not_move_it() {
    let t0 = Instant::now();
    let mut b = breaker(1, 30);
    let early = b.admit(t0);
    call(&mut b, t0, false);
    assert_eq!(b.record(t0 + secs(1), early, true), Transition::None);
    assert!(!b.is_closed(), "a late success is no probe");
    assert_eq!(b.record(t0 + secs(1), early, false), Transition::None);
    assert_eq!(b.admit(t0 + secs(30)), Admission::Probe, "nor does a late failure extend it");
}

#[test]
fn zero_failures_turns_the_breaker_off() {
    let t0 = Instant::now();
    let mut b = breaker(0, 30);
    for _ in 0..100 {
        assert_eq!(call(&mut b, t0, false), (Admission::Pass, Transition::None));
    }
    assert!(b.is_closed());
}

// --- Messages -------------------------------------------------------------------------------

#[test]
fn durations_read_well_in_messages() {
    assert_eq!(human(Duration::from_millis(1400)), "1.4s");
    assert_eq!(human(Duration::from_millis(300)), "0.3s");
    assert_eq!(human(Duration::from_millis(12_400)), "12s");
    assert_eq!(human(secs(65)), "1m 5s");
    assert_eq!(human(secs(600)), "10m");
}
