package main

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// crossCheck finds what a schema cannot: a selector that matches nothing, a probe or a
// Service naming a port no container declares, an HPA or Ingress aimed at a missing object.
func crossCheck(items []runtime.Object) []string {
	var (
		problems    []string
		deployments []*appsv1.Deployment
		services    []*corev1.Service
		configMaps  = map[string]bool{}
	)
	for _, o := range items {
		switch v := o.(type) {
		case *appsv1.Deployment:
			deployments = append(deployments, v)
		case *corev1.Service:
			services = append(services, v)
		case *corev1.ConfigMap:
			configMaps[v.Name] = true
		}
	}
	podsMatching := func(selector map[string]string) []*appsv1.Deployment {
		var out []*appsv1.Deployment
		if len(selector) == 0 {
			return out
		}
		for _, d := range deployments {
			if labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				out = append(out, d)
			}
		}
		return out
	}
	for _, d := range deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Deployment %s: %v", d.Name, err))
		} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			problems = append(problems, fmt.Sprintf("Deployment %s: spec.selector does not match the pod template's labels", d.Name))
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			ports := map[string]bool{}
			for _, p := range c.Ports {
				ports[p.Name] = true
			}
			for kind, probe := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.Type == intstr.String && !ports[probe.HTTPGet.Port.StrVal] {
					problems = append(problems, fmt.Sprintf("Deployment %s container %s: %s probe port %q is not a container port", d.Name, c.Name, kind, probe.HTTPGet.Port.StrVal))
				}
			}
			for _, from := range c.EnvFrom {
				if ref := from.ConfigMapRef; ref != nil && !configMaps[ref.Name] && (ref.Optional == nil || !*ref.Optional) {
					problems = append(problems, fmt.Sprintf("Deployment %s container %s: envFrom ConfigMap %q is not rendered", d.Name, c.Name, ref.Name))
				}
			}
		}
	}
	servicePorts := map[string]map[string]bool{}
	for _, s := range services {
		servicePorts[s.Name] = map[string]bool{}
		for _, p := range s.Spec.Ports {
			servicePorts[s.Name][p.Name] = true
		}
		pods := podsMatching(s.Spec.Selector)
		if len(pods) == 0 {
			problems = append(problems, fmt.Sprintf("Service %s: its selector matches no pod template", s.Name))
			continue
		}
		for _, p := range s.Spec.Ports {
			if p.TargetPort.Type != intstr.String {
				continue
			}
			for _, d := range pods {
				if !containerPort(d, p.TargetPort.StrVal) {
					problems = append(problems, fmt.Sprintf("Service %s: targetPort %q is not a port of Deployment %s", s.Name, p.TargetPort.StrVal, d.Name))
				}
			}
		}
	}
	for _, o := range items {
		switch v := o.(type) {
		case *policyv1.PodDisruptionBudget:
			if v.Spec.Selector == nil || len(podsMatching(v.Spec.Selector.MatchLabels)) == 0 {
				problems = append(problems, fmt.Sprintf("PodDisruptionBudget %s: its selector matches no pod template", v.Name))
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := v.Spec.ScaleTargetRef
			found := false
			for _, d := range deployments {
				found = found || (ref.Kind == "Deployment" && ref.APIVersion == "apps/v1" && ref.Name == d.Name)
			}
			if !found {
				problems = append(problems, fmt.Sprintf("HorizontalPodAutoscaler %s: scaleTargetRef %s %s is not rendered", v.Name, ref.Kind, ref.Name))
			}
		case *networkingv1.Ingress:
			for _, rule := range v.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for _, path := range rule.HTTP.Paths {
					svc := path.Backend.Service
					if svc == nil {
						continue
					}
					if ports, ok := servicePorts[svc.Name]; !ok || (svc.Port.Name != "" && !ports[svc.Port.Name]) {
						problems = append(problems, fmt.Sprintf("Ingress %s: backend %s port %q is not a rendered Service port", v.Name, svc.Name, svc.Port.Name))
					}
				}
			}
		case *monitoringv1.ServiceMonitor:
			matched := map[string]bool{}
			for _, s := range services {
				if labels.SelectorFromSet(v.Spec.Selector.MatchLabels).Matches(labels.Set(s.Labels)) {
					for name := range servicePorts[s.Name] {
						matched[name] = true
					}
				}
			}
			if len(matched) == 0 {
				problems = append(problems, fmt.Sprintf("ServiceMonitor %s: its selector matches no Service", v.Name))
			}
			for _, ep := range v.Spec.Endpoints {
				if ep.Port != "" && !matched[ep.Port] {
					problems = append(problems, fmt.Sprintf("ServiceMonitor %s: endpoint port %q is on no selected Service", v.Name, ep.Port))
				}
			}
		}
	}
	return problems
}

func containerPort(d *appsv1.Deployment, name string) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}
