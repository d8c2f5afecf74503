// Package wheel installs a built Python distribution, a wheel (the PyPA
// binary distribution format), into an environment prefix the way pip and
// uv do, for envkit's one-layer-per-wheel builds:
//
//   - the wheel file name and *.dist-info/WHEEL are checked (Wheel-Version
//     1.x; Root-Is-Purelib);
//   - every member is checked against *.dist-info/RECORD (sha256, size):
//     nothing missing, nothing unlisted, nothing different;
//   - the root goes to site-packages, <name>-<version>.data/{purelib,
//     platlib,scripts,headers,data} to their schemes (site-packages, bin,
//     include/pythonX.Y/<name>, the prefix);
//   - console_scripts and gui_scripts of entry_points.txt become bin/
//     scripts whose shebang is the environment's python, and a "#!python"
//     first line in .data/scripts is rewritten likewise;
//   - RECORD is rewritten for the installed paths (hashes of generated and
//     rewritten files included), with INSTALLER ("envkit"), REQUESTED for
//     a requested package and direct_url.json for a URL requirement.
//
// Where files are written (Options.Dest, a layer's root) is kept apart
// from the prefix baked into them (Options.Prefix, the environment's path
// in the final image). Everything written gets one modification time
// (conda/link's ModTime rule) and fixed modes; RECORD is sorted; nothing
// depends on the clock, the host or the archive's member order, so
// installing a wheel twice gives byte-identical trees.
//
// Wheels are hostile input. Member paths must be clean relative paths;
// symbolic links, devices, encrypted members and members whose compressed
// data overlap (a zip bomb's trick) are refused; decompressed sizes are
// bounded by [Limits] and checked against the zip directory; nothing lands
// outside the prefix, which is opened as an [os.Root] so that the kernel
// enforces the boundary too. Failures are *[Error] values naming the
// wheel, the member or metadata file (with its line) and the problem, and
// wrap one of the sentinel errors ([ErrFormat], [ErrUnsafePath],
// [ErrMismatch], [ErrTooLarge], [ErrUnsupported], [ErrChecksum]) for
// errors.Is.
//
// Install does not compile .pyc files: Python writes them at first import
// when the environment is writable.
package wheel
