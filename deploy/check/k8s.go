package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// scheme knows the kinds a chart of this kind renders: the built-in groups an application
// uses, and the Prometheus operator's monitoring.coreos.com/v1. Anything else is an error.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// k8sResult is what --json prints: each object as decoded into its type.
type k8sResult struct {
	Objects int              `json:"objects"`
	Kinds   map[string]int   `json:"kinds"`
	Items   []runtime.Object `json:"items"`
}

func (r k8sResult) summary() string {
	kinds := make([]string, 0, len(r.Kinds))
	for k, n := range r.Kinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	return fmt.Sprintf("k8s: %d objects: %s", r.Objects, strings.Join(kinds, ", "))
}

// checkK8s decodes every document of the stream strictly into its API type, then checks
// the references between the objects.
func checkK8s(r io.Reader) (k8sResult, error) {
	res := k8sResult{Kinds: map[string]int{}}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var problems []string
	for n := 1; ; n++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("k8s: document %d: %w", n, err)
		}
		obj, err := decodeStrict(doc)
		if err != nil {
			problems = append(problems, fmt.Sprintf("document %d: %v", n, err))
			continue
		}
		if obj == nil {
			continue // only comments (a template that rendered nothing)
		}
		res.Items = append(res.Items, obj)
		res.Kinds[obj.GetObjectKind().GroupVersionKind().Kind]++
	}
	res.Objects = len(res.Items)
	if len(problems) == 0 {
		problems = crossCheck(res.Items)
	}
	if len(problems) > 0 {
		return res, fmt.Errorf("k8s: %d problem(s):\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	if res.Objects == 0 {
		return res, errors.New("k8s: no objects in the input")
	}
	return res, nil
}

func decodeStrict(doc []byte) (runtime.Object, error) {
	asJSON, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(asJSON); len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("apiVersion and kind are required")
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	obj, err := scheme.New(gvk)
	if err != nil {
		return nil, fmt.Errorf("unknown kind %s %s", tm.APIVersion, tm.Kind)
	}
	// Strict as the API server's field validation is: a field the type does not have (its
	// path named), a key given twice or a field spelled in another case is an error.
	strictErrs, err := kjson.UnmarshalStrict(asJSON, obj)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s %s: %s", tm.APIVersion, tm.Kind, strings.Join(msgs, "; "))
	}
	meta, ok := obj.(metav1.Object)
	if !ok || meta.GetName() == "" {
		return nil, fmt.Errorf("%s %s: metadata.name is required", tm.APIVersion, tm.Kind)
	}
	return obj, nil
}
