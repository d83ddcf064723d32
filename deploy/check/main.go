// Command tally-deploy-check validates what deploy/ ships, offline, with the types and the
// loader the real tools use:
//
//	helm template deploy/helm/tally | tally-deploy-check k8s [--json]
//	tally-deploy-check compose [--profile P]... [--env-file F]... [--json] FILE...
//
// k8s decodes every document of a multi-document YAML stream STRICTLY (an unknown or
// duplicated field is an error) into its Kubernetes API type (k8s.io/api, and the
// Prometheus operator's for ServiceMonitor), fails on a kind it does not know, and checks
// the references between objects that no schema catches (selectors, named ports).
// compose loads the files with compose-go (the compose-spec loader Docker Compose uses,
// validation on, profiles applied) and checks that every service_healthy dependency has a
// healthcheck. Both print a one-line summary, or with --json the decoded objects.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "tally-deploy-check: %v\n", err)
		os.Exit(1)
	}
}

const usage = "usage: tally-deploy-check k8s [--json] < rendered.yaml | tally-deploy-check compose [--profile P]... [--env-file F]... [--json] FILE..."

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "k8s":
		jsonOut := false
		for _, a := range args[1:] {
			if a != "--json" {
				return fmt.Errorf("k8s: unknown argument %q\n%s", a, usage)
			}
			jsonOut = true
		}
		res, err := checkK8s(stdin)
		if err != nil {
			return err
		}
		return report(stdout, jsonOut, res.summary(), res)
	case "compose":
		opts, err := parseComposeArgs(args[1:])
		if err != nil {
			return err
		}
		res, err := checkCompose(opts)
		if err != nil {
			return err
		}
		return report(stdout, opts.json, res.summary(), res)
	default:
		return errors.New(usage)
	}
}

func report(w io.Writer, jsonOut bool, line string, value any) error {
	if !jsonOut {
		_, err := fmt.Fprintln(w, line)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(value)
}
