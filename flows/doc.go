// Package flows is Enlace's conversation engine: a per-person state machine that,
// given a session and one inbound event, returns the new session and the
// channel-neutral outputs (texts by message ID, choices, requests for a location or
// a contact) plus effects for the pipeline to carry out (record an escalation, erase
// the person). It does no I/O and never sends: the pipeline saves the session and
// enqueues the outputs in one atomic step.
package flows
