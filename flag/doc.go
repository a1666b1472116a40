// Package flag moves a canary's feature flag through a progressive ramp
// (5% → 25% → 50% → 100%) from the rollout verdicts the service latches,
// and back to 0% (or off) when the candidate fails. It owns three things:
//
//   - Provider, the small interface to a flag system (read the flag's
//     state, set the rollout percentage, disable), and Unleash, the
//     provider for Unleash's Admin API (plain HTTP and JSON);
//   - Decide, the ramp as pure logic: from the flag's actual state, the
//     rollout's decisions and the time, the next action;
//   - Controller, which runs Decide on its own goroutine against a
//     provider, with retries and backoff when the flag system is down, a
//     history of changes, metrics and dry runs.
//
// It leaves to others: the statistics (package rollout), evaluating and
// latching verdicts (the service), parsing the YAML (package config), the
// alert notifiers and pages that announce changes (the service wires
// Controller.History and Status to them).
//
// # A ramp step and the sequential test
//
// A rollout is one sequential test on arms that only grow, from the
// rollout's start to its end, across every ramp step: moving the flag
// changes the traffic split, not the test, and package rollout's
// guarantee does not need the split to stay fixed (information time comes
// from the variances). So a ramp step does not start a new rollout with
// fresh arms, which would spend alpha again at every step (a good
// candidate rolled back with probability up to steps × alpha). Instead:
//
//   - The first step (ramp[0]) is applied at the first evaluation, before
//     any verdict: it is the canary's initial exposure.
//   - The candidate leaves a step once the rollout's promote is latched
//     (the intersection–union test passed at level alpha, once) and the
//     step has been in force for `observe`, with the criteria held
//     throughout: no evaluation since crossed the rollback boundary.
//   - The rollback test keeps running on the cumulative arms after the
//     promote is latched (the service shows it as "since decision"). Its
//     boundary is anytime-valid, so acting on a crossing at any step —
//     latched rollback before the promote, or a later evaluation's
//     rollback after it — keeps the probability of ever rolling back a
//     candidate that meets every criterion at alpha for the whole ramp.
//     A rollback is applied at once (0%, or the flag disabled) and is
//     final for the rollout; a crossing seen once is kept even if a later
//     evaluation no longer shows it.
//   - An inconclusive rollout (max_period passed) holds the flag where it
//     is and moves it no more.
//
// # State lives in the flag
//
// The controller never assumes where the ramp is: it reads the flag
// before every decision. Each change driftwatch makes writes a Note with
// the percentage in the same request (Unleash: the strategy's title,
// updated with its rollout parameter in one PUT): which rollout, which
// step, when. After a crash (kill -9 between the decision and the update,
// or after the update before anything was recorded) the flag itself says
// whether the step was applied and since when it has been observed, so
// the controller neither applies a step twice nor skips one. A flag whose
// percentage driftwatch did not write is adopted: the ramp resumes from
// the highest step at or below it, observed from when it was first seen.
// A flag another rollout moved (its note names another candidate) starts
// the ramp over at the first step.
package flag
