// Package twilio connects SMS and WhatsApp, both through Twilio's Messaging
// API: one Adapter receives signed webhooks (inbound messages and delivery
// status callbacks) and provides two bot.Channels, "sms" and "whatsapp",
// that send through the REST API.
//
// Receiving. Every webhook is checked with twilio-go's RequestValidator
// against the auth token and the public URL Twilio signed (Config.PublicURL
// plus the request's path and query); a bad or missing signature gets 403 and
// nothing is recorded. Messages are recorded through the pipeline, which
// deduplicates them by MessageSid; replies go out through the outbox (with
// retries and delivery status), never as TwiML, so the webhook answers at once
// with an empty <Response/>.
//
// Opt-out. The adapter answers the carriers' opt-out and HELP words through
// the phone channels' layer (bot/phone), which the terminal simulator shares,
// whether or not Twilio's own opt-out handling is on: a number that opted out
// is sent nothing, on SMS or WhatsApp, until it writes START (or YES, or
// UNSTOP). Everyday words such as "cancelar" reach the conversation. The same
// layer renders what is sent (numbered choices, location hints, GSM-7, parts).
//
// Sending. Choices become a numbered list (bot.RenderText). An SMS never takes
// more than three parts: a longer text is split at line or word breaks into
// several messages. With Config.GSM7 accents are transliterated so SMS stay in
// the 7-bit alphabet. A request for a location asks SMS readers for the name of
// their town. Provider errors are mapped to the pipeline's outcomes: 21610
// (the number replied STOP to the carrier) to bot.ErrOptedOut, other permanent
// ones (21211, 21612, 21614, 30005, 30006, 63003) to bot.ErrUnreachable, 429 to
// bot.ErrThrottled, other 4xx to bot.ErrRejected, the rest are retried. 30003
// (a phone off or out of coverage) is not permanent: the next message is tried.
//
// WhatsApp's 24-hour window. A free-form WhatsApp message may only go to
// someone who wrote in the last 24 hours. The adapter remembers when each
// WhatsApp number last wrote (Window; in memory by default) and sends a
// proactive message outside the window with the configured approved template,
// or by SMS to the same number when there is none.
package twilio
