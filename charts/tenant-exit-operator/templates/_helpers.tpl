{{/* Names, labels and the operator's identity, shared by every template. */}}

{{- define "tenant-exit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tenant-exit.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tenant-exit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tenant-exit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "tenant-exit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "tenant-exit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tenant-exit-operator
{{- end -}}

{{- define "tenant-exit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tenant-exit.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The username the API server gives the operator's requests; the namespace
guard lets only this identity change guard labels. */}}
{{- define "tenant-exit.identity" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "tenant-exit.serviceAccountName" .) -}}
{{- end -}}

{{- define "tenant-exit.peeringName" -}}
{{- default (include "tenant-exit.fullname" .) .Values.peering.name -}}
{{- end -}}

{{- define "tenant-exit.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}
