package lock

import "github.com/envkit/envkit/conda/channel"

// Redact drops the credentials the lock's URLs carry (conda's /t/<token>,
// user:password@: channel.SplitCredential) from its channels and
// packages, and reports whether there were any. A lock written with them
// (conda-lock without --strip-auth) then installs from the channels as
// envkit names them, with the credentials given apart, and what is made
// from it (records, errors, an image's lock) does not hold them.
func (l *Lock) Redact() bool {
	dropped := false
	for i := range l.Channels {
		if clean, _, ok := channel.SplitCredential(l.Channels[i].URL); ok {
			l.Channels[i].URL, dropped = clean, true
		}
	}
	redact := func(s *string) {
		if clean, _, ok := channel.SplitCredential(*s); ok {
			*s, dropped = clean, true
		}
	}
	for _, p := range l.Packages {
		redact(&p.URL)
		if p.Record != nil {
			redact(&p.Record.URL)
			redact(&p.Record.Channel)
		}
	}
	return dropped
}
