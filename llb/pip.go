package llb

import (
	"fmt"
	"path"
	"strconv"

	"github.com/envkit/envkit/conda/link"
	"github.com/envkit/envkit/conda/record"
	"github.com/envkit/envkit/internal/helper"
	"github.com/envkit/envkit/llb/budget"
	"github.com/envkit/envkit/pypi/wheel"
	bkllb "github.com/moby/buildkit/client/llb"
	"github.com/opencontainers/go-digest"
)

// Wheel is a locked pip package of the environment: a wheel fetched by its
// sha256 and installed after the conda packages, over them.
type Wheel struct {
	// Name and Version are the package's, as the lock gives them.
	Name, Version string
	// URL is where the wheel is fetched from; SHA256 (hex) what it is
	// fetched and verified by.
	URL, SHA256 string
	// Filename is the wheel's file name (the URL's last segment).
	Filename string
	// Size is the wheel's size in bytes, for the layer budget; 0 when the
	// lock does not say.
	Size int64
	// Requested writes REQUESTED: the environment's pip lines name it.
	Requested bool
	// DirectURL, for a "name @ url" pip line, is written as
	// direct_url.json.
	DirectURL *wheel.DirectURL
	// Source, when set, holds the wheel at /<Filename>: a wheel of the
	// build's own files (a pip line's local wheel), not fetched from URL.
	// The helper verifies it by SHA256 all the same.
	Source *bkllb.State
	// Sdist is true when URL, SHA256 and Filename are a source
	// distribution's, built into a wheel before it is installed
	// (sdistLayer), in a layer of its own.
	Sdist bool
	// Project is true, with Sdist, when Source holds a project directory
	// at /<Filename> (a pip line's ./mypkg; URL is its file: URL
	// relative to the environment's directory, SHA256 its canonical
	// archive's): built into a wheel as an sdist is, and installed with
	// direct_url.json's dir_info.
	Project bool
}

// Dist names the wheel in progress output and history: name==version.
func (w *Wheel) Dist() string { return w.Name + "==" + w.Version }

// layerPlan returns the conda packages of each layer, then the wheels of
// each layer, in install order: one package or wheel per layer when they
// fit PackageLayers, otherwise runs cut by the package budget, the wheels
// in runs of their own after the conda packages (budget.Package.Break).
func (c *Conda) layerPlan() ([][]*record.RepoDataRecord, [][]*Wheel, error) {
	n := len(c.Records) + len(c.Wheels)
	if c.PackageLayers <= 0 || n <= c.PackageLayers {
		gs := make([][]*record.RepoDataRecord, len(c.Records))
		for i := range c.Records {
			gs[i] = c.Records[i : i+1 : i+1]
		}
		ws := make([][]*Wheel, len(c.Wheels))
		for i := range c.Wheels {
			ws[i] = c.Wheels[i : i+1 : i+1]
		}
		return gs, ws, nil
	}
	pkgs := make([]budget.Package, 0, n)
	for _, r := range c.Records {
		pkgs = append(pkgs, budget.Package{Name: r.Name, Size: r.Size})
	}
	for i, w := range c.Wheels {
		// An sdist's wheel is installed by an exec of its own: a layer
		// of its own.
		brk := (i == 0 && len(c.Records) > 0) || w.Sdist || (i > 0 && c.Wheels[i-1].Sdist)
		pkgs = append(pkgs, budget.Package{Name: w.Name, Size: w.Size, Break: brk})
	}
	plan, err := budget.Split(pkgs, c.PackageLayers, c.Large)
	if err != nil {
		return nil, nil, err
	}
	var gs [][]*record.RepoDataRecord
	var ws [][]*Wheel
	for _, g := range plan.Groups {
		if g.Start < len(c.Records) {
			gs = append(gs, c.Records[g.Start:g.End:g.End])
			continue
		}
		s, e := g.Start-len(c.Records), g.End-len(c.Records)
		ws = append(ws, c.Wheels[s:e:e])
	}
	return gs, ws, nil
}

// WheelGroups returns the wheels of each layer, in install order (see
// Groups).
func (c *Conda) WheelGroups() ([][]*Wheel, error) {
	_, ws, err := c.layerPlan()
	return ws, err
}

// wheelPython is the environment's interpreter as the wheel installer
// needs it: from its conda python record.
func wheelPython(py *link.Python) helper.WheelPython {
	return helper.WheelPython{Version: py.Version, SitePackages: py.SitePackages}
}

// fetchWheel returns a wheel, fetched by its sha256 from its URL.
func (c *Conda) fetchWheel(w *Wheel) (bkllb.State, error) {
	if w.SHA256 == "" {
		return bkllb.State{}, fmt.Errorf("%s: no sha256 to fetch it by", w.Filename)
	}
	if w.Source != nil {
		return *w.Source, nil
	}
	opts := []bkllb.HTTPOption{
		bkllb.Checksum(digest.NewDigestFromEncoded(digest.SHA256, w.SHA256)),
		bkllb.Filename(w.Filename),
		bkllb.WithCustomName("pip: fetch " + w.Filename),
		c.Auth.For(w.URL),
	}
	if c.WheelLocations != nil {
		for _, l := range c.WheelLocations(w) {
			opts = append(opts, l)
		}
	}
	return bkllb.HTTP(w.URL, opts...), nil
}

// wheelBatches cuts the wheels' groups into runs installed by one exec
// each, as batches does for conda groups: at most batchGroups groups and
// batchPackages wheels, and batchBytes of the wheels whose size is known;
// with batch false, each group is a run of its own.
func wheelBatches(groups [][]*Wheel, batch bool) [][][]*Wheel {
	return cutBatches(groups, func(w *Wheel) int64 { return w.Size }, batch)
}

// wheelLayers fetches the wheels of one or more groups and installs them
// (helper.Wheel) in one exec on the build platform with no network, each
// group in order into a layer of its own: the exec's output mount, or for
// a batch of groups OutputDir/<k> (WheelFile.Dest). Each wheel is in a
// read-only mount of its own (WheelDir/<i>/<file name>), the payload (the
// wheels and the python) in another. A layer depends on its wheels, the
// other groups of its batch and the environment's python alone.
func (c *Conda) wheelLayers(groups [][]*Wheel, python *link.Python) ([]bkllb.State, error) {
	in := helper.WheelInput{Prefix: c.Prefix, Platform: c.Subdir, Python: wheelPython(python)}
	var mounts []bkllb.RunOption
	var all []*Wheel
	for k, g := range groups {
		for _, w := range g {
			i := len(all)
			all = append(all, w)
			st, err := c.fetchWheel(w)
			if err != nil {
				return nil, err
			}
			dir := path.Join(helper.WheelDir, strconv.Itoa(i))
			mo := c.keyed()
			if w.Source != nil {
				// a local wheel's source, or a built sdist: their keys do
				// not name their content, the content-based cache does.
				mo = []bkllb.MountOption{bkllb.Readonly}
			}
			mounts = append(mounts, bkllb.AddMount(dir, st, mo...))
			f := helper.WheelFile{Filename: w.Filename, Archive: path.Join(dir, w.Filename), SHA256: w.SHA256, Requested: w.Requested, DirectURL: w.DirectURL}
			if len(groups) > 1 {
				f.Dest = path.Join(helper.OutputDir, strconv.Itoa(k))
			}
			in.Wheels = append(in.Wheels, f)
		}
	}
	data, err := in.Encode()
	if err != nil {
		return nil, err
	}
	what := wheelGroupName(all)
	if len(groups) > 1 {
		what += fmt.Sprintf(" in %d layers", len(groups))
	}
	input := bkllb.Scratch().File(bkllb.Mkfile("/"+helper.WheelInputFile, 0o644, data), bkllb.WithCustomName("pip: wheels of "+what))
	h := helper.Wheel{Input: path.Join(helper.InputDir, helper.WheelInputFile), Dest: helper.OutputDir}
	opts := []bkllb.RunOption{
		bkllb.Args(append([]string{c.HelperPath}, h.Args()...)),
		bkllb.AddMount(helper.InputDir, input, c.keyed()...),
		bkllb.Network(bkllb.NetModeNone),
		bkllb.WithCustomName("pip: install " + what),
	}
	opts = append(opts, mounts...)
	if c.WheelLocations != nil {
		for _, l := range c.WheelLocations(all...) {
			opts = append(opts, l)
		}
	}
	run := c.Helper.Run(opts...)
	if len(groups) == 1 {
		return []bkllb.State{run.AddMount(helper.OutputDir, bkllb.Scratch())}, nil
	}
	out := make([]bkllb.State, len(groups))
	for k := range groups {
		out[k] = run.AddMount(path.Join(helper.OutputDir, strconv.Itoa(k)), bkllb.Scratch())
	}
	return out, nil
}

// wheelGroupName names a group of wheels in progress output and history.
func wheelGroupName(ws []*Wheel) string {
	if len(ws) == 1 {
		return ws[0].Filename
	}
	return fmt.Sprintf("%d wheels, %s to %s", len(ws), ws[0].Filename, ws[len(ws)-1].Filename)
}
