//go:build unix

package link

import (
	"time"

	"golang.org/x/sys/unix"
)

// lchtimes sets the times of a symlink itself.
func lchtimes(name string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
