{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "wva.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release> if it already contains the chart name, else <release>-<chart>. */}}
{{- define "wva.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The controller's (system) namespace: where it runs and where its ConfigMaps live. */}}
{{- define "wva.namespace" -}}
{{- default .Release.Namespace .Values.systemNamespace -}}
{{- end -}}

{{- define "wva.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wva.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "wva.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wva.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: workload-variant-autoscaler
{{- end -}}

{{- define "wva.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-controller-manager" (include "wva.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Mount directory and file of the Prometheus CA when the chart mounts one; "" otherwise. */}}
{{- define "wva.prometheusCaConfigMap" -}}
{{- if .Values.prometheus.ca.configMap -}}
{{- .Values.prometheus.ca.configMap -}}
{{- else if .Values.prometheus.ca.cert -}}
{{- printf "%s-prometheus-ca" (include "wva.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "wva.prometheusCaFile" -}}
{{- if .Values.prometheus.caFile -}}
{{- .Values.prometheus.caFile -}}
{{- else if include "wva.prometheusCaConfigMap" . -}}
{{- printf "/etc/wva/prometheus-ca/%s" .Values.prometheus.ca.key -}}
{{- end -}}
{{- end -}}

{{/* "true" when KEDA's triggers are served by WVA's keda-scaler sink (autoscaling.keda.trigger: external);
     "" otherwise. Fails on an unknown trigger, or on several replicas: only the Lease holder publishes. */}}
{{- define "wva.kedaScaler" -}}
{{- $k := .Values.autoscaling.keda -}}
{{- $trigger := default "prometheus" $k.trigger -}}
{{- if not (has $trigger (list "prometheus" "external")) -}}
{{- fail (printf "autoscaling.keda.trigger must be prometheus or external, got %q" $trigger) -}}
{{- end -}}
{{- if and $k.enabled (eq $trigger "external") -}}
{{- if gt (int .Values.replicas) 1 -}}
{{- fail (printf "autoscaling.keda.trigger=external needs replicas: 1 (got %v): only the replica holding the leader Lease publishes decisions, so KEDA would get UNAVAILABLE from the others" .Values.replicas) -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/* host:port of the keda-scaler Service, as the triggers' scalerAddress. */}}
{{- define "wva.kedaScalerAddress" -}}
{{- printf "%s-keda-scaler.%s.svc:%v" (include "wva.fullname" .) (include "wva.namespace" .) .Values.autoscaling.keda.scaler.port -}}
{{- end -}}

{{/* Mount directory of the keda-scaler's TLS Secret. */}}
{{- define "wva.kedaScalerTlsDir" -}}/etc/wva/keda-scaler-tls{{- end -}}

{{/* Where the metrics sink's certificate Secret is mounted, and its name. */}}
{{- define "wva.metricsTlsDir" -}}/etc/wva/metrics-tls{{- end -}}
{{- define "wva.metricsTlsSecret" -}}
{{- .Values.metrics.tls.secretName | default (printf "%s-metrics-tls" (include "wva.fullname" .)) -}}
{{- end -}}
