// Package tracing is the pure domain of Enlace's tracing service (restoring family
// links): case codes a person can read aloud or type on a cheap phone, PINs that are
// never kept in clear and lock after three wrong tries, the case model and its
// status rules, and the matching of cases that could be about the same people
// (names folded, particles dropped, nicknames, Spanish and Haitian spellings
// compared by sound, birth year, sex and places), with an index that finds
// candidates among 100,000 cases in well under a millisecond.
//
// It does no I/O and reads no clock: every function that needs the time takes it.
// Stores seal and keep cases; flows ask the questions; the console shows matches.
// Matching returns reason codes with values, never sentences, so every screen can
// translate them, and never personal data, so a match can be logged or audited
// without revealing anyone.
package tracing
