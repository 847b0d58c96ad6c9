// Package bot holds Enlace's channel-neutral message types and the message pipeline
// every channel shares:
//
//	channel -> Accept (dedupe + durable inbox) -> worker (per-person lock, session,
//	flows engine, one atomic commit of session + outbox) -> sender (retries, backoff,
//	dead letters) -> channel
//
// The pipeline seals everything personal before it reaches a Store, so a store only
// ever holds ciphertext and keyed hashes.
package bot
