package machine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/clerkgate/clerkgate/verifier"
)

// ErrAudience is wrapped by Audience.Check's refusals.
var ErrAudience = errors.New("machine: token not granted to this audience")

// Audience is Clerk's audience option for machine JWTs, which the
// Backend API never sees, so they carry no check of whom they were minted
// for unless the app makes one. The zero Audience checks nothing.
type Audience struct {
	// Values are the audiences the app answers to: an OAuth JWT's aud
	// must name one (a string or an array of non-empty strings), and an
	// M2M JWT's aud, when it has one, must name one, as in Clerk's SDK.
	Values []string
	// ThisMachine requires an M2M JWT to be granted to one of Values
	// (this machine's id, "mch_…"), read where Clerk puts the machines a
	// token may call: its scopes claim, else its aud. It is the JWT
	// counterpart of verifying opaque M2M tokens with a machine secret
	// key, which Clerk answers only for tokens granted to that machine.
	// With no Values, every M2M JWT is refused.
	ThisMachine bool
}

// Check applies a's rules to the verified claims c.
func (a Audience) Check(c *verifier.MachineClaims) error {
	switch c.Kind {
	case verifier.KindOAuth:
		if len(a.Values) == 0 {
			return nil
		}
		if len(c.Audience) == 0 || slices.Contains(c.Audience, "") {
			return fmt.Errorf("%w: an OAuth token needs an aud of non-empty strings", ErrAudience)
		}
		if !overlaps(c.Audience, a.Values) {
			return fmt.Errorf("%w: aud names none of the configured audiences", ErrAudience)
		}
	case verifier.KindM2M:
		if a.ThisMachine && !overlaps(c.Scopes, a.Values) {
			return fmt.Errorf("%w: the M2M token is not granted to this machine (Machine.Audience names it)", ErrAudience)
		}
		if len(a.Values) > 0 && c.Audience != nil && !overlaps(c.Audience, a.Values) {
			return fmt.Errorf("%w: aud names none of the configured audiences", ErrAudience)
		}
	}
	return nil
}

func overlaps(have, want []string) bool {
	for _, w := range want {
		if w != "" && slices.Contains(have, w) {
			return true
		}
	}
	return false
}
