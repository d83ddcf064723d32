package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

type composeArgs struct {
	files    []string
	profiles []string
	envFiles []string
	json     bool
}

func parseComposeArgs(args []string) (composeArgs, error) {
	var o composeArgs
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--json":
			o.json = true
		case "--profile", "--env-file":
			if i+1 >= len(args) {
				return o, fmt.Errorf("compose: %s needs a value", a)
			}
			i++
			if a == "--profile" {
				o.profiles = append(o.profiles, args[i])
			} else {
				o.envFiles = append(o.envFiles, args[i])
			}
		default:
			if strings.HasPrefix(a, "--") {
				return o, fmt.Errorf("compose: unknown flag %q\n%s", a, usage)
			}
			o.files = append(o.files, a)
		}
	}
	if len(o.files) == 0 {
		return o, errors.New("compose: no file given\n" + usage)
	}
	return o, nil
}

// composeResult is what --json prints: the project as Docker Compose would run it.
type composeResult struct {
	Name             string          `json:"name"`
	Profiles         []string        `json:"profiles"`
	Services         []string        `json:"services"`
	DisabledServices []string        `json:"disabledServices"`
	Project          json.RawMessage `json:"project"`
}

func (r composeResult) summary() string {
	profiles := "none"
	if len(r.Profiles) > 0 {
		profiles = strings.Join(r.Profiles, ",")
	}
	return fmt.Sprintf("compose: %s: %d services (profiles %s): %s", r.Name, len(r.Services), profiles, strings.Join(r.Services, " "))
}

// checkCompose loads the files as `docker compose` does (the .env beside the first file, or
// --env-file; profiles from --profile, else COMPOSE_PROFILES), with validation and the
// consistency checks on. The process environment is not read: the result depends on the
// files only.
func checkCompose(a composeArgs) (composeResult, error) {
	opts := []cli.ProjectOptionsFn{cli.WithEnvFiles(a.envFiles...), cli.WithDotEnv}
	if len(a.profiles) > 0 {
		opts = append(opts, cli.WithProfiles(a.profiles))
	} else {
		opts = append(opts, cli.WithDefaultProfiles())
	}
	opts = append(opts, cli.WithConsistency(true), cli.WithInterpolation(true), cli.WithNormalization(true))
	po, err := cli.NewProjectOptions(a.files, opts...)
	if err != nil {
		return composeResult{}, fmt.Errorf("compose: %w", err)
	}
	project, err := po.LoadProject(context.Background())
	if err != nil {
		return composeResult{}, fmt.Errorf("compose: %w", err)
	}
	// As `docker compose` does: an optional dependency on a service of an inactive profile goes.
	project = project.WithoutUnresolvedOptionalDependencies()
	if err := checkHealthyDependencies(project); err != nil {
		return composeResult{}, fmt.Errorf("compose: %w", err)
	}
	raw, err := project.MarshalJSON()
	if err != nil {
		return composeResult{}, fmt.Errorf("compose: %w", err)
	}
	profiles := []string{}
	for _, p := range project.Profiles {
		if p != "" {
			profiles = append(profiles, p)
		}
	}
	disabled := project.DisabledServiceNames()
	sort.Strings(disabled)
	names := project.ServiceNames()
	sort.Strings(names)
	return composeResult{Name: project.Name, Profiles: profiles, Services: names, DisabledServices: disabled, Project: raw}, nil
}

// checkHealthyDependencies: `docker compose up` fails when a service waits for another to be
// healthy and that one has no healthcheck; the loader does not check it.
func checkHealthyDependencies(p *types.Project) error {
	var problems []string
	for _, name := range p.ServiceNames() {
		for dep, cfg := range p.Services[name].DependsOn {
			if cfg.Condition != types.ServiceConditionHealthy {
				continue
			}
			target, ok := p.Services[dep]
			if !ok {
				continue // a disabled optional dependency (required: false)
			}
			if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
				problems = append(problems, fmt.Sprintf("service %q waits for %q to be healthy, which has no healthcheck", name, dep))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
