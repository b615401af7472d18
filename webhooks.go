package clerkgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/webhooks"
)

// Networkless verification has one weakness, in every Clerk SDK: a session
// revoked anywhere but through this app (the user signs out on another
// device, an admin revokes the session, deletes or bans the user, removes
// a membership) keeps working on every replica until its token expires,
// with claims that may be stale. Clerk tells servers about these changes
// as signed webhooks; Gate.Webhooks applies them through the Store, so
// every replica refuses the token within the Store's propagation delay
// (well under a second with the Redis store) of the delivery.

// WebhookHandler is the app's own handling of a verified Clerk event, such
// as syncing users to its database. Gate.Webhooks calls it once per
// message (deliveries of a message already handled are answered without
// calling it again), after the Gate has applied the event. An error makes
// the Gate answer 500, and forget the message, so that Clerk's next
// delivery of it is handled again.
type WebhookHandler func(ctx context.Context, event *webhooks.Event) error

// webhookDedupeTTL is how long a message id is remembered: Clerk (Svix)
// retries a delivery for up to about three days.
const webhookDedupeTTL = 72 * time.Hour

func newWebhookVerifier(cfg Config, now func() time.Time) (*webhooks.Verifier, error) {
	if cfg.WebhookSigningSecret == "" {
		return nil, nil
	}
	v, err := webhooks.NewVerifier(cfg.WebhookSigningSecret, webhooks.Options{Clock: now})
	if err != nil {
		return nil, fmt.Errorf("clerkgate: WebhookSigningSecret (%s): %w", envWebhookSigningSecret, err)
	}
	return v, nil
}

// Webhooks returns the handler for the endpoint Clerk delivers webhooks to
// (mount it at POST /webhooks/clerk, say, outside any policy). For
// each delivery it:
//
//   - answers 405 to anything but POST, 413 to a body over 1 MiB and 400
//     to one that fails verification (signature, timestamp within five
//     minutes, headers), changing nothing;
//   - answers 200 to a message it has handled before (Clerk delivers at
//     least once), through the Store, so across replicas;
//   - applies the event: session.revoked, .ended and .removed revoke the
//     session, as a sign-out through the Gate does; user.deleted, and a
//     user.updated that says the user is banned or locked, refuse every
//     token of the user; organizationMembership.updated and .deleted
//     refuse the member's tokens issued up to the event, so the browser
//     gets a new token with the new claims (a token issued after passes).
//     The Store shares all of it with the other replicas, for the
//     revocation term (MaxTokenLifetime plus twice ClockSkew), after which
//     every token concerned has expired anyway;
//   - then calls handler, if not nil, with the event.
//
// Without Config.WebhookSigningSecret it answers 500 to every delivery and
// logs why, so that Clerk retries once the secret is set.
func (g *Gate) Webhooks(handler WebhookHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serveWebhook(w, r, handler)
	})
}

func (g *Gate) serveWebhook(w http.ResponseWriter, r *http.Request, handler WebhookHandler) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeWebhook(w, http.StatusMethodNotAllowed, "method_not_allowed", "webhooks are delivered with POST")
		return
	}
	if g.webhooks == nil {
		g.log.Error("clerkgate: a Clerk webhook arrived, but no signing secret is set (" + envWebhookSigningSecret + "); refusing it, Clerk will retry")
		writeWebhook(w, http.StatusInternalServerError, "webhook_not_configured", "this endpoint has no signing secret")
		return
	}
	if r.ContentLength > webhooks.MaxBodySize {
		writeWebhook(w, http.StatusRequestEntityTooLarge, "webhook_invalid", webhooks.ErrBodyTooLarge.Error())
		return
	}
	event, err := g.webhooks.VerifyRequest(r)
	if err != nil {
		g.log.Debug("clerkgate: webhook refused", "err", err)
		writeWebhook(w, webhooks.Status(err), "webhook_invalid", err.Error())
		return
	}
	effect, err := webhookEffect(event)
	if err != nil {
		g.log.Warn("clerkgate: a verified Clerk webhook could not be read", "type", event.Type, "msg_id", event.MessageID, "err", err)
		writeWebhook(w, http.StatusBadRequest, "webhook_invalid", err.Error())
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), g.refreshAfter)
	key := webhookKey(event.MessageID)
	first, err := g.store.MarkOnce(ctx, key, webhookDedupeTTL)
	cancel()
	switch {
	case err != nil:
		// Applying an event twice changes nothing; the app's handler may
		// see the message again.
		g.log.Warn("clerkgate: the store could not tell whether this webhook was handled before; handling it", "msg_id", event.MessageID, "err", err)
	case !first:
		writeWebhook(w, http.StatusOK, "duplicate", "")
		return
	}

	g.applyWebhook(effect)
	if handler != nil {
		if err := handler(r.Context(), event); err != nil {
			g.log.Error("clerkgate: the app's webhook handler failed; Clerk will deliver the event again", "type", event.Type, "msg_id", event.MessageID, "err", err)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), g.refreshAfter)
			if err := g.store.Unmark(ctx, key); err != nil {
				g.log.Warn("clerkgate: the store did not forget the failed webhook; its next delivery will be taken for a duplicate", "msg_id", event.MessageID, "err", err)
			}
			cancel()
			writeWebhook(w, http.StatusInternalServerError, "handler_failed", "the app could not handle the event")
			return
		}
	}
	writeWebhook(w, http.StatusOK, "ok", "")
}

// webhookKey names a message id in the Store: a digest, so that the key's
// size and characters do not depend on what the sender chose.
func webhookKey(messageID string) string {
	sum := sha256.Sum256([]byte("clerkgate webhook\x00" + messageID))
	return "webhook:" + hex.EncodeToString(sum[:16])
}

// effect is what an event does to the Gate: revoke a session, or refuse a
// user's tokens issued at or before cutoff (every one, when all is set).
type effect struct {
	sessionID string
	userID    string
	cutoff    time.Time
	all       bool
}

// webhookEffect reads what an event asks of the Gate; nothing, for the
// events it does not act on.
func webhookEffect(e *webhooks.Event) (effect, error) {
	switch e.Type {
	case webhooks.SessionRevoked, webhooks.SessionEnded, webhooks.SessionRemoved:
		s, err := e.Session()
		if err != nil {
			return effect{}, err
		}
		if !strings.HasPrefix(s.ID, "sess_") {
			return effect{}, fmt.Errorf("%w: session id %q", webhooks.ErrInvalidEvent, s.ID)
		}
		return effect{sessionID: s.ID}, nil
	case webhooks.UserDeleted, webhooks.UserUpdated:
		u, err := e.User()
		if err != nil {
			return effect{}, err
		}
		if e.Type == webhooks.UserUpdated && !u.Banned && !u.Locked {
			return effect{}, nil
		}
		return userEffect(u.ID, time.Time{}, true)
	case webhooks.MembershipUpdated, webhooks.MembershipDeleted:
		m, err := e.Membership()
		if err != nil {
			return effect{}, err
		}
		return userEffect(m.UserID(), e.Timestamp, false)
	}
	return effect{}, nil
}

func userEffect(userID string, cutoff time.Time, all bool) (effect, error) {
	if !strings.HasPrefix(userID, "user_") {
		return effect{}, fmt.Errorf("%w: user id %q", webhooks.ErrInvalidEvent, userID)
	}
	return effect{userID: userID, cutoff: cutoff, all: all}, nil
}

// applyWebhook carries out an effect through the Store. It takes effect
// in this process even when the Store fails; the Redis store then shares
// it once Redis is back.
func (g *Gate) applyWebhook(e effect) {
	switch {
	case e.sessionID != "":
		g.forgetSession(e.sessionID)
	case e.userID != "":
		term := g.revocationTerm()
		cutoff := e.cutoff
		if e.all {
			// Every token the Gate would accept within the term.
			cutoff = g.now().Add(term)
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.refreshAfter)
		defer cancel()
		if err := g.store.RevokeUser(ctx, e.userID, cutoff, term); err != nil {
			g.log.Warn("clerkgate: a user's revocation was not shared with other replicas; they accept the user's current tokens until they expire",
				"user_id", e.userID, "err", err)
		}
	}
}

// writeWebhook answers a delivery; Clerk shows the body in its dashboard.
func writeWebhook(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]string{"status": code}
	if message != "" {
		body["message"] = message
	}
	_ = json.NewEncoder(w).Encode(body)
}
