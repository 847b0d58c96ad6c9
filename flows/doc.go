// Package flows is Enlace's conversation engine: a per-person state machine that,
// given a session and one inbound event, returns the new session and an ordered
// list of typed effects (flows/effects.go): replies with channel-neutral outputs
// (texts by message ID, choices, requests for a location or a contact), messages
// to someone else, escalations, timers, erase. It does no I/O and never acts: the
// pipeline applies each effect and saves the session in one atomic step.
package flows
