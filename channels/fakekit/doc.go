// Package fakekit is the plumbing shared by the provider fakes
// (channels/*/fake): a request log with rate assertions, per-recipient
// outcome rules, fault and error injection, token buckets, an in-flight
// gauge, a webhook emitter scheduled on an injectable clock, and the
// /_fake/ HTTP control API used by cmd/pregon-fakes.
//
// Two clocks meet here on purpose. Rate limits and the request log use the
// real monotonic clock, because the sender under test paces itself in real
// time. Customer-service windows, daily tiers and status delays use the
// fake's injectable Now, so that 24-hour rules can be tested by moving a
// clock instead of waiting.
package fakekit
