// Package store holds what every storage backend shares: the keyring that seals
// personal data with AES-256-GCM before it is stored, and the keyed hash that turns
// an address (a phone number, a Telegram chat) into the opaque key records are found
// by. The interfaces a backend must satisfy belong to their consumers (bot.Store);
// store/redis and store/embedded implement them and store/storetest checks both.
package store
