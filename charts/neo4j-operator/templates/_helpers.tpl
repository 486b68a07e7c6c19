{{/* Chart name, truncated to a DNS label. */}}
{{- define "neo4j-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name when it already contains the chart name. */}}
{{- define "neo4j-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "neo4j-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "neo4j-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "neo4j-operator.labels" -}}
app.kubernetes.io/name: {{ include "neo4j-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "neo4j-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "neo4j-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "neo4j-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The operator's permissions: the rules of files/rbac.yaml, an identical copy of
manifests/base/rbac.yaml (tests/install_files.py fails when it is stale), where each rule
says why it is needed. "neo4j-operator.rules" is its ClusterRole's rules,
"neo4j-operator.leaseRules" its leader-election Role's. tests/e2e/test_rbac_audit.py and
test_install.py check, in the audit log, that every rule is used and none is missing.
*/}}
{{- define "neo4j-operator.rulesOf" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- range $doc := regexSplit "(?m)^---\\s*$" ($root.Files.Get "files/rbac.yaml") -1 }}
{{- $o := fromYaml $doc }}
{{- if and $o (eq (toString $o.kind) $kind) }}
{{- toYaml $o.rules }}
{{- end }}
{{- end }}
{{- end }}

{{- define "neo4j-operator.rules" -}}
{{- include "neo4j-operator.rulesOf" (list . "ClusterRole") }}
{{- end }}

{{- define "neo4j-operator.leaseRules" -}}
{{- include "neo4j-operator.rulesOf" (list . "Role") }}
{{- end }}
