{{/* Names, labels and the values derived from several keys. */}}

{{- define "simplismart.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "simplismart.fullname" -}}
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

{{/* "<fullname>-<component>", at most 63 characters. */}}
{{- define "simplismart.component" -}}
{{- printf "%s-%s" (include "simplismart.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Cluster-scoped objects carry the namespace too: releases in two namespaces never collide. */}}
{{- define "simplismart.clusterName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace (include "simplismart.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "simplismart.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "simplismart.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: simplismart
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of one component: pass (dict "root" $ "component" "api"). */}}
{{- define "simplismart.componentLabels" -}}
{{ include "simplismart.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "simplismart.selectorLabels" -}}
app.kubernetes.io/name: {{ include "simplismart.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "simplismart.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "simplismart.operator.serviceAccountName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- end }}

{{- define "simplismart.api.serviceAccountName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "api")) .Values.api.serviceAccount.name }}
{{- end }}

{{- define "simplismart.jwtSecretName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "jwt")) .Values.api.jwt.existingSecret }}
{{- end }}

{{- define "simplismart.database.external" -}}
{{- if or .Values.database.external.url .Values.database.external.existingSecret }}true{{ end }}
{{- end }}

{{- define "simplismart.database.secretName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "database")) .Values.database.external.existingSecret }}
{{- end }}

{{- define "simplismart.redis.secretName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "redis-url")) .Values.redis.external.existingSecret }}
{{- end }}

{{- define "simplismart.redisPasswordSecretName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "redis-password")) .Values.redis.auth.existingSecret }}
{{- end }}

{{- define "simplismart.bootstrapSecretName" -}}
{{- default (include "simplismart.component" (dict "root" . "component" "bootstrap")) .Values.api.bootstrap.existingSecret }}
{{- end }}

{{/* SIMPLISMART_REDIS_URL for the API and the operator. The chart's Redis requires a password,
from a Secret; Kubernetes substitutes $(REDIS_PASSWORD) into the URL. */}}
{{- define "simplismart.redisEnv" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "simplismart.redisPasswordSecretName" . }}
      key: redis-password
- name: SIMPLISMART_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "simplismart.component" (dict "root" . "component" "redis")) | quote }}
{{- else if or .Values.redis.external.url .Values.redis.external.existingSecret }}
- name: SIMPLISMART_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "simplismart.redis.secretName" . }}
      key: {{ ternary "redis-url" .Values.redis.external.existingSecretKey (empty .Values.redis.external.existingSecret) }}
{{- else }}
{{- fail "redis.enabled=false needs redis.external.url or redis.external.existingSecret" }}
{{- end }}
{{- end }}

{{- define "simplismart.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "simplismart.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/*
A component's metrics Service: ClusterIP whatever the public Service's type, so that exposing
the API (LoadBalancer, NodePort) never exposes its metrics; nothing when the port is 0
(metrics off). Context: dict "root" "component" "port".
*/}}
{{- define "simplismart.metricsService" -}}
{{- if .port }}
apiVersion: v1
kind: Service
metadata:
  name: {{ printf "%s-metrics" (include "simplismart.component" .) | trunc 63 | trimSuffix "-" }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "simplismart.componentLabels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "simplismart.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .port }}
      targetPort: metrics
      protocol: TCP
{{- end }}
{{- end }}
