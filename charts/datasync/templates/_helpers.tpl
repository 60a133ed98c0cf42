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

{{/*
  The ClusterRole copier pods are bound to in each tenant namespace; the operator may only bind this
  one. Its name is fixed: the operator creates RoleBindings to `datasync-copier` (operator/names.ts).
*/}}
{{- define "datasync.copierRoleName" -}}
datasync-copier
{{- end -}}

{{- define "datasync.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end -}}
{{- end -}}

{{/* Name of the leader-election Lease (one per release). */}}
{{- define "datasync.leaseName" -}}
{{ include "datasync.fullname" . }}-operator
{{- end -}}

{{/*
  The operator's namespaced rules, shared by the cluster-wide and per-namespace modes. Each rule is
  the narrowest the operator's code needs (operator/reconcile.ts, controller.ts, events.ts); the
  README's RBAC table explains each one. No Secrets: copier pods mount them, the operator never reads them.
*/}}
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
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "create", "delete"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "create"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}
