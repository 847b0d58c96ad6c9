// Package store holds what every storage backend shares: the rule for the names
// of persons, items and timers (ValidName). Sealing and keyed hashes live in
// package keyring. The interfaces a backend must satisfy belong to their
// consumers (bot.Store); store/redis and store/embedded implement them and
// store/storetest checks both.
package store
