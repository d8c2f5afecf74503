//go:build !unix

package link

import "time"

// lchtimes leaves symlink times alone where the system cannot set them.
func lchtimes(string, time.Time) error { return nil }
