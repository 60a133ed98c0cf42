{{- define "datasync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "datasync.labels" -}}
app.kubernetes.io/name: datasync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "datasync.selectorLabels" -}}
app.kubernetes.io/name: datasync
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "datasync.serviceAccountName" -}}
{{- default (include "datasync.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "datasync.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* The ClusterRole copier pods are bound to in each tenant namespace; the operator may only bind this one. */}}
{{- define "datasync.copierRoleName" -}}
{{ include "datasync.fullname" . }}-copier
{{- end -}}

{{- define "datasync.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end -}}
{{- end -}}


{{/* The operator's namespaced rules, shared by the cluster-wide and per-namespace modes. */}}
{{- define "datasync.operatorRules" -}}
- apiGroups: ["datasync.dev"]
  resources: ["datasyncs"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["datasync.dev"]
  resources: ["datasyncs/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["datasync.dev"]
  resources: ["datasyncs/finalizers"]
  verbs: ["update"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["get", "create"]
- apiGroups: ["", "events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
