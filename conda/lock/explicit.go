package lock

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	condaplatform "github.com/envkit/envkit/conda/platform"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/diag"
	pypiname "github.com/envkit/envkit/pypi/name"
)

// Comment lines with a meaning in explicit files: conda writes the
// platform, conda-lock the content hash and pip packages (as PEP 508
// direct references, "# pip name @ url#sha256=hex").
const (
	explicitMarker   = "@EXPLICIT"
	platformComment  = "# platform:"
	inputHashComment = "# input_hash:"
	pipComment       = "# pip "
)

// ReadExplicit reads an @EXPLICIT file (CEP 23) for one platform: one
// package URL or path per line, each optionally followed by #<md5>,
// #<sha256> or #sha256:<sha256>. Name, version and build come from the
// file name, channel and subdir from the URL. The platform is the one of
// the "# platform:" comment, else the subdir of the first non-noarch
// package. Paths are kept as written: expanding ~ and environment
// variables is the installer's business. Conda packages keep the file's
// order; pip packages ("# pip" lines) follow them.
func ReadExplicit(file string, data []byte) (*Lock, error) {
	var (
		errs           diag.List
		conda, pip     []*Package
		skipped        []Skipped
		platform, hash string
		explicit       bool
		firstLine      = map[string]int{}
		fail           = func(line int, field, format string, args ...any) {
			errs = append(errs, &diag.Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
		}
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for no := 1; sc.Scan(); no++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case line == explicitMarker:
			explicit = true
		case strings.HasPrefix(line, platformComment):
			platform = strings.TrimSpace(line[len(platformComment):])
		case strings.HasPrefix(line, inputHashComment):
			hash = strings.TrimSpace(line[len(inputHashComment):])
		case strings.HasPrefix(line, pipComment):
			p, err := parsePipLine(line[len(pipComment):])
			if err != nil {
				fail(no, "pip", "%v", err)
				continue
			}
			if err := ValidPipFile(p.Name, p.Version, p.URL); err != nil {
				skipped = append(skipped, Skipped{Name: p.Name, Warning: skipWarning(file, no, "pip", p.Name, err)})
				continue
			}
			pip = append(pip, p)
		case line[0] == '#':
		default:
			p, field, skip, err := parseExplicitLine(line)
			if skip {
				name := nameOfURL(line)
				skipped = append(skipped, Skipped{Name: name, Warning: skipWarning(file, no, field, name, err)})
				continue
			}
			if err != nil {
				fail(no, field, "%v", err)
				continue
			}
			if prev, dup := firstLine[p.Name]; dup {
				fail(no, "url", "package %s is listed twice (first on line %d)", p.Name, prev)
				continue
			}
			firstLine[p.Name] = no
			conda = append(conda, p)
		}
	}
	if err := sc.Err(); err != nil {
		fail(0, "", "%v", err)
	}
	if !explicit && len(errs) == 0 {
		errs = append(errs, &diag.Error{File: file, Msg: "no " + explicitMarker + " line: not an explicit file",
			Hint: "a spec file without @EXPLICIT lists match specs to solve, not locked packages"})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if platform == "" {
		for _, p := range conda {
			if s := p.Record.Subdir; s != "" && s != string(condaplatform.Noarch) {
				platform = s
				break
			}
		}
	}
	l := &Lock{ContentHash: map[string]string{}, Channels: []Channel{}, Packages: append(conda, pip...)}
	if platform != "" {
		l.Platforms = []string{platform}
	}
	if hash != "" {
		l.ContentHash[platform] = hash
	}
	for _, s := range skipped {
		s.Platform = platform
		l.Skipped = append(l.Skipped, s)
	}
	seen := map[string]bool{}
	for _, p := range l.Packages {
		p.Platform = platform
		if p.Record != nil && p.Record.Channel != "" && !seen[p.Record.Channel] {
			seen[p.Record.Channel] = true
			l.Channels = append(l.Channels, Channel{URL: p.Record.Channel, UsedEnvVars: []string{}})
		}
	}
	return l, nil
}

// parseExplicitLine parses "URL[#md5|#sha256|#sha256:sha256]"; on error
// it also names the part at fault ("url" or "hash") and says whether the
// package is to be skipped (a digest that is not hex, a file name that is
// not a plain name-version-build.conda or .tar.bz2) rather than the file
// refused.
func parseExplicitLine(line string) (p *Package, field string, skip bool, err error) {
	u, frag, hasFrag := strings.Cut(line, "#")
	if strings.ContainsAny(u, " \t") {
		return nil, "url", false, fmt.Errorf("%q: want one package URL per line", line)
	}
	var md5, sha256 string
	if hasFrag {
		h, prefixed := frag, len(frag) >= 7 && strings.EqualFold(frag[:7], "sha256:")
		if prefixed {
			h = frag[7:]
		}
		switch {
		case prefixed || len(frag) == 64:
			if err := record.ValidSHA256(h); err != nil {
				return nil, "hash", true, err
			}
			sha256 = strings.ToLower(h)
		case len(frag) == 32:
			if err := record.ValidMD5(frag); err != nil {
				return nil, "hash", true, err
			}
			md5 = strings.ToLower(frag)
		default:
			return nil, "hash", true, fmt.Errorf("%q: want #<md5> (32 hex digits), #<sha256> or #sha256:<sha256> (64 hex digits)", "#"+frag)
		}
	}
	r, err := recordFromURL(u)
	if err == nil {
		err = record.ValidFileName(r.FileName, &r.PackageRecord)
	}
	if err != nil {
		return nil, "url", true, err
	}
	r.MD5, r.SHA256 = md5, sha256
	return condaPackage(r, "", MainCategory, false), "", false, nil
}

// parsePipLine parses the text after "# pip ": "name @ url[#sha256=hex]".
// The version is taken from a wheel's file name when there is one.
func parsePipLine(s string) (*Package, error) {
	name, u, ok := strings.Cut(strings.TrimSpace(s), " @ ")
	name, u = strings.TrimSpace(name), strings.TrimSpace(u)
	if !ok || name == "" || u == "" || strings.ContainsAny(name+u, " \t") {
		return nil, fmt.Errorf("%q: want # pip <name> @ <url>[#sha256=<hex>]", s)
	}
	p := &Package{Name: name, Manager: Pip, URL: u, Dependencies: map[string]string{}, Category: MainCategory}
	if base, frag, ok := strings.Cut(u, "#"); ok {
		h, isSHA := strings.CutPrefix(frag, "sha256=")
		if !isSHA || record.ValidSHA256(h) != nil {
			return nil, fmt.Errorf("%q: want #sha256=<64 hex digits>", "#"+frag)
		}
		p.URL, p.SHA256 = base, strings.ToLower(h)
	}
	p.Version = wheelVersion(p.URL)
	if p.Version == "" { // an sdist named name-version.tar.gz
		if n, v, err := splitPipFilename(p.URL[strings.LastIndexByte(p.URL, '/')+1:]); err == nil && pypiname.Normalize(n) == pypiname.Normalize(p.Name) {
			p.Version = v
		}
	}
	return p, nil
}

// wheelVersion returns the version in a wheel's file name
// ({name}-{version}-...-{platform}.whl), or "".
func wheelVersion(u string) string {
	fn := u[strings.LastIndexAny(u, `/\`)+1:]
	stem, ok := strings.CutSuffix(fn, ".whl")
	if !ok {
		return ""
	}
	if parts := strings.Split(stem, "-"); len(parts) >= 5 {
		return parts[1]
	}
	return ""
}

// WriteExplicit writes the conda packages of platform as an @EXPLICIT file
// (CEP 23), each URL with its #sha256: hash (#md5 when the lock has no
// sha256), in dependency order. Optional packages are written when their
// category is listed. Pip packages are written as "# pip" comments, as
// conda-lock does: conda ignores them, ReadExplicit reads them back.
func WriteExplicit(w io.Writer, l *Lock, platform string, categories ...string) error {
	pkgs, err := l.selected(platform, categories)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# This file may be used to create an environment using:\n# $ conda create --name <env> --file <this file>\n")
	if platform != "" {
		fmt.Fprintf(&b, "%s %s\n", platformComment, platform)
	}
	if h := l.ContentHash[platform]; h != "" {
		fmt.Fprintf(&b, "%s %s\n", inputHashComment, h)
	}
	b.WriteString(explicitMarker + "\n")
	for _, p := range pkgs {
		if p.Manager != Conda {
			continue
		}
		if strings.ContainsAny(p.URL, "# \t\n") {
			return fmt.Errorf("lock: %s: cannot write %s to an explicit file: its URL %q has a space or #", platform, p.Name, p.URL)
		}
		b.WriteString(p.URL)
		switch {
		case p.SHA256 != "":
			b.WriteString("#sha256:" + p.SHA256)
		case p.MD5 != "":
			b.WriteString("#" + p.MD5)
		}
		b.WriteByte('\n')
	}
	for _, p := range pkgs {
		if p.Manager != Pip {
			continue
		}
		fmt.Fprintf(&b, "%s%s @ %s", pipComment, p.Name, p.URL)
		if p.SHA256 != "" {
			b.WriteString("#sha256=" + p.SHA256)
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
