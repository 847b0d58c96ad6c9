// Package telegram connects Enlace to Telegram's Bot API.
//
// Receiving: Adapter.ServeHTTP is the webhook (POST /webhooks/telegram) and
// Adapter.Poll the long-polling loop. Both turn each Update into a bot.Message
// and record it with the pipeline's Accept before Telegram is told the update
// is handled, deduplicated by update_id, so nothing is lost and nothing is
// handled twice: a webhook that cannot record an update answers 503 and
// Telegram delivers it again; polling does not confirm an update (by moving its
// offset past it) until it is recorded.
//
// The library's own WebhookHandler and Start are not used: the handler answers
// 200 even for a wrong secret and runs each update in its own goroutine, and
// its polling confirms updates before they are handled.
//
// Sending: Adapter implements bot.Channel and bot.Pacer. Choices become an
// inline keyboard, a request for a location or a contact a one-time reply
// keyboard button; long texts are split below Telegram's 4,096 characters.
// Texts go without parse_mode, so what people typed (names, places with <, &,
// _ or *) is shown as typed and never breaks a message. Provider outcomes map
// to the bot package's errors: 429 to *bot.ErrThrottled with Telegram's
// retry_after, 403 to bot.ErrUnreachable, 400 to bot.ErrRejected, anything
// else is transient and retried with backoff by the pipeline.
package telegram
