package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/envkit/envkit/internal/diag"
	"github.com/envkit/envkit/workspace"
	"github.com/spf13/cobra"
)

// envFlags are the flags of every `env` subcommand.
type envFlags struct {
	workspace string
	json      bool
}

// envCmd is `envkit env`: registered and curated environments in a
// workspace (a registry namespace).
func envCmd() *cobra.Command {
	var fl envFlags
	c := &cobra.Command{
		Use:   "env",
		Short: "register, show, list, archive and restore environments in a workspace; curated environments",
		Long: "A workspace is a namespace of an OCI registry (REGISTRY/NAMESPACE): --workspace, else $" + workspace.EnvVar + ",\n" +
			"else the local stack's registry (" + workspace.DefaultAddress + ", started or reused). Each registered\n" +
			"NAME:VERSION is an OCI artifact in REGISTRY/NAMESPACE/" + workspace.EnvironmentsRepo + "; credentials come from the docker\n" +
			"config (docker login). References: NAME:VERSION, NAME@latest (the newest version not archived),\n" +
			"azureml:NAME:VERSION, azureml:NAME@latest, or a hash envkit_<32 hex> (the versions with that hash).",
		Example: "  envkit env create --file environment.yml --workspace registry.example.com/team\n" +
			"  envkit env list --curated\n" +
			"  envkit env show my-env@latest --json",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.PersistentFlags().StringVar(&fl.workspace, "workspace", "", "workspace REGISTRY/NAMESPACE (default $"+workspace.EnvVar+", else "+workspace.DefaultAddress+" on the local stack)")
	c.AddCommand(envCreateCmd(&fl), envShowCmd(&fl), envListCmd(&fl), envArchiveCmd(&fl, true), envArchiveCmd(&fl, false), envCloneCmd())
	return c
}

// open opens the workspace the flags name. The default workspace is the
// local stack's registry, which is started (or reused) first.
func (fl *envFlags) open(ctx context.Context, stderr io.Writer) (*workspace.Workspace, error) {
	addr := fl.workspace
	if addr == "" {
		addr = os.Getenv(workspace.EnvVar)
	}
	if addr == "" {
		local, err := startLocalStack(ctx, stderr)
		if err != nil {
			return nil, err
		}
		addr = local.registry + "/envkit"
	}
	return workspace.Open(addr)
}

func envCreateCmd(fl *envFlags) *cobra.Command {
	var file string
	var opt workspace.CreateOptions
	c := &cobra.Command{
		Use:   "create --file FILE [--name NAME] [--version VERSION]",
		Short: "register an environment file as NAME:VERSION in the workspace (does not build)",
		Long: "Registers the environment file (and the conda file it refers to) as NAME:VERSION. The name and\n" +
			"version are the flags', else the file's; without a version it is the next integer after the highest\n" +
			"integer version (1 for the first). A version is immutable: the same NAME:VERSION with another\n" +
			"definition is refused; the same definition again succeeds and takes the new description and tags.\n" +
			"Names starting with AzureML- or Microsoft are reserved for curated environments.",
		Example: "  envkit env create --file environment.yml\n" +
			"  envkit env create --file environment.yml --name my-env --version 3 --json",
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			if file == "" {
				return usageErrorf("missing --file FILE")
			}
			ctx, cancel := interruptible()
			defer cancel()
			ws, err := fl.open(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			res, err := ws.Create(ctx, file, opt)
			if err != nil {
				if code := printLoadError(c.ErrOrStderr(), err); code != 0 {
					return exit(code)
				}
				return err
			}
			verb := "registered"
			if res.Existed {
				verb = "already registered with this definition; description and tags updated:"
			}
			fmt.Fprintf(c.ErrOrStderr(), "envkit: %s %s:%s (%s, hash %s) in workspace %s\n", verb, res.Name, res.Version, res.Kind, res.Hash, ws)
			if fl.json {
				return printJSON(c.OutOrStdout(), res.Record)
			}
			fmt.Fprintf(c.OutOrStdout(), "%s:%s\n", res.Name, res.Version)
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the environment file to register")
	c.Flags().StringVar(&opt.Name, "name", "", "the name (default the file's name:)")
	c.Flags().StringVar(&opt.Version, "version", "", "the version (default the file's version:, else the next integer)")
	c.Flags().BoolVar(&fl.json, "json", false, "print the registered version as JSON")
	return c
}

func envShowCmd(fl *envFlags) *cobra.Command {
	c := &cobra.Command{
		Use:   "show REF",
		Short: "show a registered or curated environment version",
		Long: "Shows NAME:VERSION, NAME@latest (with or without azureml:), or, for a hash envkit_<32 hex>,\n" +
			"every version with that hash (--json then prints an array).",
		Example: "  envkit env show my-env:1\n" +
			"  envkit env show azureml:my-env@latest --json\n" +
			"  envkit env show AzureML-sklearn-1.5-ubuntu22.04-py311-cpu@latest",
		Args: exactArgs("REF"),
		RunE: func(c *cobra.Command, args []string) error {
			ref, err := workspace.ParseRef(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := interruptible()
			defer cancel()
			var rs []workspace.Record
			if ref.Hash == "" && workspace.IsReserved(ref.Name) {
				var r workspace.Record // curated: no registry needed
				if r, err = workspace.CuratedVersion(ref); err == nil {
					rs = []workspace.Record{r}
				}
			} else {
				var ws *workspace.Workspace
				if ws, err = fl.open(ctx, c.ErrOrStderr()); err == nil {
					rs, err = ws.Resolve(ctx, ref)
				}
				if ref.Hash != "" && errors.Is(err, workspace.ErrNotFound) {
					// An anonymous environment: found by its build record.
					b, berr := ws.LookupBuild(ctx, ref.Hash)
					if berr != nil {
						return fmt.Errorf("%w; nor has it built %s", err, ref.Hash)
					}
					return printBuild(c.OutOrStdout(), b, fl.json)
				}
			}
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if fl.json {
				if ref.Hash != "" {
					return printJSON(out, rs)
				}
				return printJSON(out, rs[0])
			}
			for i, r := range rs {
				if i > 0 {
					fmt.Fprintln(out)
				}
				printRecord(out, r)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&fl.json, "json", false, `print {"name","version","hash","kind","archived","created","description","tags"}`)
	return c
}

func envListCmd(fl *envFlags) *cobra.Command {
	var opt workspace.ListOptions
	var curated bool
	c := &cobra.Command{
		Use:   "list [--include-archived] [--curated]",
		Short: "list the registered environments (or the curated ones)",
		Long: "Lists the workspace's registered versions, ordered by name, then creation time, then version;\n" +
			"archived versions only with --include-archived. --curated lists the curated environments shipped\n" +
			"with envkit instead (no registry needed).",
		Example: "  envkit env list\n" +
			"  envkit env list --include-archived --json\n" +
			"  envkit env list --curated",
		Args: exactArgs(),
		RunE: func(c *cobra.Command, _ []string) error {
			var rs []workspace.Record
			if curated {
				rs = workspace.Curated()
			} else {
				ctx, cancel := interruptible()
				defer cancel()
				ws, err := fl.open(ctx, c.ErrOrStderr())
				if err != nil {
					return err
				}
				if rs, err = ws.List(ctx, opt); err != nil {
					return err
				}
			}
			if fl.json {
				if rs == nil {
					rs = []workspace.Record{}
				}
				return printJSON(c.OutOrStdout(), rs)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tKIND\tHASH\tCREATED\tARCHIVED")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", r.Name, r.Version, r.Kind, r.Hash, r.Created.UTC().Format(time.RFC3339), r.Archived)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&opt.IncludeArchived, "include-archived", false, "list archived versions too")
	c.Flags().BoolVar(&curated, "curated", false, "list the curated environments shipped with envkit")
	c.Flags().BoolVar(&fl.json, "json", false, "print a JSON array of the versions")
	c.MarkFlagsMutuallyExclusive("include-archived", "curated")
	return c
}

// envArchiveCmd is `env archive` (archive true) or `env restore`.
func envArchiveCmd(fl *envFlags, archive bool) *cobra.Command {
	verb, short := "archive", "archive a version: hidden from list and @latest, still usable by NAME:VERSION"
	if !archive {
		verb, short = "restore", "restore an archived version"
	}
	return &cobra.Command{
		Use:     verb + " REF",
		Short:   short,
		Example: "  envkit env " + verb + " my-env:1",
		Args:    exactArgs("REF"),
		RunE: func(c *cobra.Command, args []string) error {
			ref, err := workspace.ParseRef(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			ctx, cancel := interruptible()
			defer cancel()
			ws, err := fl.open(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			r, err := ws.SetArchived(ctx, ref, archive)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "envkit: %s:%s archived: %v\n", r.Name, r.Version, r.Archived)
			fmt.Fprintf(c.OutOrStdout(), "%s:%s\n", r.Name, r.Version)
			return nil
		},
	}
}

func envCloneCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "clone NAME NEW-NAME",
		Short: "write an editable copy of a curated environment under a new name",
		Long: "Writes the curated environment NAME's files (NAME, NAME:VERSION or NAME@latest; the latest\n" +
			"by default) into --dir (default ./NEW-NAME), with name: NEW-NAME and version: 1, and prints the\n" +
			"environment file's path. Register the copy with envkit env create --file.",
		Example: "  envkit env clone AzureML-sklearn-1.5-ubuntu22.04-py311-cpu my-sklearn\n" +
			"  envkit env create --file my-sklearn/environment.yml",
		Args: exactArgs("NAME", "NEW-NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			src := args[0]
			if !strings.ContainsAny(strings.TrimPrefix(src, "azureml:"), ":@") {
				src = strings.TrimPrefix(src, "azureml:") + "@latest"
			}
			ref, err := workspace.ParseRef(src)
			if err != nil || ref.Hash != "" {
				return usageErrorf("NAME %q: give a curated environment's name (envkit env list --curated)", args[0])
			}
			if dir == "" {
				dir = args[1]
			}
			file, err := workspace.Clone(ref, args[1], dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), file)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "the directory to write (default ./NEW-NAME); must not exist or be empty")
	return c
}

// builtEnvironment is what env show prints of an anonymous environment:
// its build record.
type builtEnvironment struct {
	Hash       string    `json:"hash"`
	Anonymous  bool      `json:"anonymous"`
	Image      string    `json:"image"`
	Digest     string    `json:"digest"`
	BaseImage  string    `json:"base_image,omitempty"`
	BaseDigest string    `json:"base_digest,omitempty"`
	Created    time.Time `json:"created"`
	Locked     bool      `json:"locked"` // the build record holds a lock
}

func printBuild(w io.Writer, b *workspace.Build, asJSON bool) error {
	e := builtEnvironment{Hash: b.Hash, Anonymous: true, Image: b.Image, Digest: b.Digest, BaseImage: b.BaseImage,
		BaseDigest: b.BaseDigest, Created: b.Created, Locked: b.Lock != nil}
	if asJSON {
		return printJSON(w, e)
	}
	fmt.Fprintf(w, "hash:        %s\nanonymous:   true (built, not registered)\nimage:       %s\nbase:        %s@%s\ncreated:     %s\nlocked:      %v\n",
		e.Hash, e.Image, e.BaseImage, e.BaseDigest, e.Created.UTC().Format(time.RFC3339Nano), e.Locked)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printRecord(w io.Writer, r workspace.Record) {
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tags := make([]string, len(keys))
	for i, k := range keys {
		tags[i] = k + "=" + strconv.Quote(r.Tags[k])
	}
	fmt.Fprintf(w, "name:        %s\nversion:     %s\nhash:        %s\nkind:        %s\narchived:    %v\ncreated:     %s\ndescription: %s\ntags:        %s\n",
		r.Name, r.Version, r.Hash, r.Kind, r.Archived, r.Created.UTC().Format(time.RFC3339Nano), r.Description, strings.Join(tags, ", "))
}

// printLoadError prints an environment file's diagnostics as validate does
// and returns exitFailure, or returns 0 when err is not about the file.
func printLoadError(w io.Writer, err error) int {
	if isDiagnostics(err) {
		printDiagnostics(w, err)
		return exitFailure
	}
	return 0
}

func isDiagnostics(err error) bool {
	var list diag.List
	return errors.As(err, &list)
}
