package delivery

import "github.com/runhook/runhook/internal/signing"

// Check checks a target as every POST to it is checked, its URL against the
// policy and each signing secret parsed, and returns the signing keys. A
// refusal is the attempt's result: nothing may be sent. A rule's deliveries
// and its test deliveries both check here.
func (t Target) Check(policy URLPolicy) (keys [][]byte, refused *Result) {
	if err := policy.Check(t.URL); err != nil {
		return nil, &Result{Class: Refused, Err: err.Error()}
	}
	for _, secret := range t.SigningSecrets {
		key, err := signing.ParseSecret(secret)
		if err != nil {
			return nil, &Result{Class: Invalid, Err: err.Error()}
		}
		keys = append(keys, key)
	}
	return keys, nil
}
