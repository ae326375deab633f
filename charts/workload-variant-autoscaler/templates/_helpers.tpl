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
