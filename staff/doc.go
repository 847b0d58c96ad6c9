// Package staff is the staff side's domain: the accounts of volunteers,
// caseworkers and admins, how they enrol (a one-time link, an argon2id
// password, a TOTP second factor), how they sign in (server-side sessions with
// an idle timeout and an absolute lifetime, per-account and per-address rate
// limits), personal API tokens for scripts, and the append-only audit log whose
// entries are chained by keyed hashes so a changed or removed entry is found.
//
// It does no I/O of its own: storage is the Store interface declared here and
// implemented by store/redis and store/embedded (store/storetest checks both),
// records are sealed by a Sealer (the keyring), and time comes from an injected
// clock. The console (package console) and the CLI (cmd/enlace) are built on
// Service.
package staff
