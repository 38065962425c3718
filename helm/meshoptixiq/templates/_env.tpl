{{/* The settings of each service, as its settings class reads them (env_names()). */}}

{{- define "meshoptixiq.env.licensing" -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{- with .Values.license.existingSecret }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHOPTIXIQ_LICENSE_KEY" "secret" . "key" $.Values.license.key) }}
{{- end }}
{{- with .Values.license.serverUrl }}
- name: MESHOPTIXIQ_LICENSE_URL
  value: {{ . | quote }}
{{- end }}
{{ include "meshoptixiq.env.licensePublicKey" . }}
{{- end -}}

{{- define "meshoptixiq.env.graph-engine" -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{ include "meshoptixiq.env.memgraph" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{- end -}}

{{/* Memgraph; without memgraph.uri the writer keeps an embedded graph on its volume. */}}
{{- define "meshoptixiq.env.memgraph" -}}
{{- if .Values.memgraph.uri }}
- name: MEMGRAPH_URI
  value: {{ .Values.memgraph.uri | quote }}
{{- with .Values.memgraph.existingSecret }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MEMGRAPH_USER" "secret" . "key" $.Values.memgraph.usernameKey) }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MEMGRAPH_PASSWORD" "secret" . "key" $.Values.memgraph.passwordKey) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Query-only graph-engine replicas: they follow topology.changed, read Memgraph, and send
writes (metadata updates) and snapshot diffs to the writer. */}}
{{- define "meshoptixiq.env.graph-engine-query" -}}
{{- $q := (index .Values.services "graph-engine").query -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.memgraph" . }}
{{ include "meshoptixiq.env.postgres" . }}
- name: MESHQ_GRAPH_ENGINE_ROLE
  value: reader
- name: MESHQ_GRAPH_ENGINE_WRITER_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "graph-engine") | quote }}
- name: MESHQ_GRAPH_ENGINE_REFRESH_INTERVAL
  value: {{ $q.refreshIntervalSeconds | toString | quote }}
{{- end -}}

{{- define "meshoptixiq.env.query-gateway" -}}
{{- $g := .Values.gateway -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_REDIS_URL" "secret" .Values.redis.existingSecret "key" .Values.redis.urlKey) }}
{{ include "meshoptixiq.secretEnv" (dict "env" "API_KEY" "secret" $g.apiKeySecret.name "key" $g.apiKeySecret.key) }}
- name: MESHQ_GRAPH_ENGINE_URL
  value: {{ include "meshoptixiq.queryUrl" . | quote }}
- name: MESHQ_AUDIT_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "audit") | quote }}
- name: MESHQ_SOAR_DISPATCHER_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "soar-dispatcher") | quote }}
- name: MESHQ_ALERTS_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "alerts") | quote }}
- name: MESHQ_PROBER_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "prober") | quote }}
- name: AUTH_MODE
  value: {{ $g.authMode | quote }}
{{- with $g.entra.tenantId }}
- name: ENTRA_TENANT_ID
  value: {{ . | quote }}
{{- end }}
{{- with $g.entra.clientId }}
- name: ENTRA_CLIENT_ID
  value: {{ . | quote }}
{{- end }}
{{- with $g.oidc.issuer }}
- name: OIDC_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $g.oidc.audience }}
- name: OIDC_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- with $g.oidc.jwksUrl }}
- name: OIDC_JWKS_URL
  value: {{ . | quote }}
{{- end }}
{{- if $g.rbac.enabled }}
- name: RBAC_POLICY_FILE
  value: /etc/meshoptixiq/rbac/rbac.yaml
- name: RBAC_RELOAD_INTERVAL
  value: {{ $g.rbac.reloadInterval | toString | quote }}
{{- end }}
{{- with $g.rateLimits }}
- name: MESHQ_RATE_LIMITS
  value: {{ toJson . | quote }}
{{- end }}
- name: MESHQ_AUDIT_BUFFER
  value: {{ $g.auditBuffer | toString | quote }}
{{- if $g.apiKeysSecret.name }}
- name: MESHQ_API_KEYS_FILE
  value: /etc/meshoptixiq/api-keys/{{ $g.apiKeysSecret.key }}
{{- end }}
{{- end -}}

{{- define "meshoptixiq.env.audit" -}}
{{- $s := .Values.audit.siem -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_AUDIT_HMAC_KEY" "secret" (required "audit.hmacKeySecret.name is required: every audit pod signs with the same key" .Values.audit.hmacKeySecret.name) "key" .Values.audit.hmacKeySecret.key) }}
{{- with $s.syslog }}
- name: MESHQ_AUDIT_SIEM_SYSLOG
  value: {{ . | quote }}
- name: MESHQ_AUDIT_SIEM_SYSLOG_TLS
  value: {{ $s.syslogTls | toString | quote }}
{{- end }}
{{- with $s.httpUrl }}
- name: MESHQ_AUDIT_SIEM_HTTP_URL
  value: {{ . | quote }}
{{- end }}
{{- with $s.httpTokenSecret.name }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_AUDIT_SIEM_HTTP_TOKEN" "secret" . "key" $s.httpTokenSecret.key) }}
{{- end }}
{{- end -}}

{{- define "meshoptixiq.env.soar-dispatcher" -}}
{{- $s := .Values.soar -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{- with $s.webhookUrl }}
- name: SOAR_WEBHOOK_URL
  value: {{ . | quote }}
{{- end }}
{{- with $s.tokenSecret.name }}
{{ include "meshoptixiq.secretEnv" (dict "env" "SOAR_WEBHOOK_TOKEN" "secret" . "key" $s.tokenSecret.key) }}
{{- end }}
{{- with $s.signingKeySecret.name }}
{{ include "meshoptixiq.secretEnv" (dict "env" "SOAR_WEBHOOK_SIGNING_KEY" "secret" . "key" $s.signingKeySecret.key) }}
{{- end }}
- name: SOAR_RULES_FILE
  value: /etc/meshoptixiq/soar/rules.json
- name: SOAR_MAX_ATTEMPTS
  value: {{ $s.maxAttempts | toString | quote }}
{{- with $s.alertsMinSeverity }}
- name: SOAR_ALERTS_MIN_SEVERITY
  value: {{ . | quote }}
{{- end }}
{{- /* an alert's blast radius, from the writer (as netbox-sync and alerts read it) */}}
- name: MESHQ_GRAPH_ENGINE_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "graph-engine") | quote }}
{{- end -}}

{{- define "meshoptixiq.env.netbox-sync" -}}
{{- $n := .Values.netbox -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
- name: MESHQ_GRAPH_ENGINE_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "graph-engine") | quote }}
{{- with $n.url }}
- name: NETBOX_URL
  value: {{ . | quote }}
{{- end }}
{{- with $n.tokenSecret.name }}
{{ include "meshoptixiq.secretEnv" (dict "env" "NETBOX_TOKEN" "secret" . "key" $n.tokenSecret.key) }}
{{- end }}
- name: NETBOX_SYNC_DIRECTION
  value: {{ $n.direction | quote }}
- name: NETBOX_SYNC_INTERVAL
  value: {{ $n.intervalSeconds | toString | quote }}
{{- end -}}

{{- define "meshoptixiq.env.alerts" -}}
{{- $a := .Values.alerts -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{- /* The rules ask the writer, as netbox-sync does; query replicas serve the gateway. */}}
- name: MESHQ_GRAPH_ENGINE_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "graph-engine") | quote }}
{{- /* Rules over the Synthetic queries ask the prober. */}}
- name: MESHQ_PROBER_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "prober") | quote }}
{{- if $a.rules }}
- name: MESHQ_ALERT_RULES_FILE
  value: /etc/meshoptixiq/alerts/rules.yaml
{{- end }}
- name: MESHQ_ALERTS_INTERVAL
  value: {{ $a.intervalSeconds | toString | quote }}
- name: MESHQ_ALERTS_DEBOUNCE
  value: {{ $a.debounceSeconds | toString | quote }}
- name: MESHQ_ALERTS_MAX_ROWS
  value: {{ $a.maxRows | toString | quote }}
- name: MESHQ_ALERTS_BLAST_FULL_INTERVAL
  value: {{ $a.blastFullIntervalSeconds | default 3600 | toString | quote }}
- name: MESHQ_ALERTS_BLAST_CONCURRENCY
  value: {{ $a.blastConcurrency | default 4 | toString | quote }}
{{- with $a.alertmanagerUrls }}
- name: MESHQ_ALERTMANAGER_URLS
  value: {{ join "," . | quote }}
{{- end }}
{{- with include "meshoptixiq.alertsPublicUrl" . }}
- name: MESHQ_ALERTS_PUBLIC_URL
  value: {{ . | quote }}
{{- end }}
{{- end -}}

{{- define "meshoptixiq.env.prober" -}}
{{- $p := .Values.prober -}}
{{ include "meshoptixiq.env.serviceToken" . }}
{{ include "meshoptixiq.env.kafka" . }}
{{ include "meshoptixiq.env.postgres" . }}
{{ include "meshoptixiq.env.licensingUrl" . }}
{{- /* A failing probe's path: path_analysis on the writer, as alerts asks it. */}}
- name: MESHQ_GRAPH_ENGINE_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "graph-engine") | quote }}
{{- if $p.probes }}
- name: MESHQ_PROBES_FILE
  value: /etc/meshoptixiq/prober/probes.yaml
{{- end }}
- name: MESHQ_SYNTHETIC_RETENTION
  value: {{ $p.retention | toString | quote }}
- name: MESHQ_PROBER_MAX_PROBES
  value: {{ $p.maxProbes | toString | quote }}
- name: MESHQ_PROBER_MIN_INTERVAL
  value: {{ $p.minIntervalSeconds | toString | quote }}
- name: MESHQ_PROBER_MAX_TIMEOUT
  value: {{ $p.maxTimeoutSeconds | toString | quote }}
{{- end -}}

{{/* The collector listens on UDP and publishes to Kafka; it calls no other service. */}}
{{- define "meshoptixiq.env.flow-collector" -}}
{{- $f := .Values.flowCollector -}}
{{ include "meshoptixiq.env.kafka" . }}
- name: MESHQ_FLOWS_NETFLOW_PORT
  value: {{ $f.netflowPort | toString | quote }}
- name: MESHQ_FLOWS_IPFIX_PORT
  value: {{ $f.ipfixPort | toString | quote }}
- name: MESHQ_FLOWS_SFLOW_PORT
  value: {{ $f.sflowPort | toString | quote }}
- name: MESHQ_FLOWS_BATCH_RECORDS
  value: {{ $f.batchRecords | toString | quote }}
- name: MESHQ_FLOWS_FLUSH_S
  value: {{ $f.flushSeconds | toString | quote }}
- name: MESHQ_FLOWS_STATUS_S
  value: {{ $f.statusSeconds | toString | quote }}
- name: MESHQ_FLOWS_MAX_PENDING
  value: {{ $f.maxPendingBatches | toString | quote }}
{{- end -}}

{{- define "meshoptixiq.env.mcp-bridge" -}}
- name: MESHOPTIXIQ_API_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "query-gateway") | quote }}
{{- $secret := default .Values.gateway.apiKeySecret.name .Values.mcp.apiKeySecret.name }}
{{- $key := ternary .Values.mcp.apiKeySecret.key .Values.gateway.apiKeySecret.key (ne .Values.mcp.apiKeySecret.name "") }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHOPTIXIQ_API_KEY" "secret" $secret "key" $key) }}
{{- end -}}

{{/* Extra volumes and mounts of a service. */}}
{{- define "meshoptixiq.volumes" -}}
{{- $ctx := .ctx -}}
{{- if eq .component "query-gateway" }}
{{- if $ctx.Values.gateway.rbac.enabled }}
- name: rbac
  configMap:
    name: {{ default (printf "%s-rbac" (include "meshoptixiq.fullname" $ctx)) $ctx.Values.gateway.rbac.existingConfigMap | quote }}
{{- end }}
{{- if $ctx.Values.gateway.apiKeysSecret.name }}
- name: api-keys
  secret:
    secretName: {{ $ctx.Values.gateway.apiKeysSecret.name | quote }}
{{- end }}
{{- end }}
{{- if eq .component "soar-dispatcher" }}
- name: soar-rules
  configMap:
    name: {{ printf "%s-soar-rules" (include "meshoptixiq.fullname" $ctx) | quote }}
{{- end }}
{{- if and (eq .component "alerts") $ctx.Values.alerts.rules }}
- name: alert-rules
  configMap:
    name: {{ printf "%s-alert-rules" (include "meshoptixiq.fullname" $ctx) | quote }}
{{- end }}
{{- if and (eq .component "prober") $ctx.Values.prober.probes }}
- name: probes
  configMap:
    name: {{ printf "%s-probes" (include "meshoptixiq.fullname" $ctx) | quote }}
{{- end }}
{{- if eq .component "graph-engine" }}
- name: data
  {{- if (index $ctx.Values.services "graph-engine").persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ printf "%s-graph-engine" (include "meshoptixiq.fullname" $ctx) | quote }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- else }}
- name: data
  emptyDir:
    sizeLimit: 1Gi
{{- end }}
{{- end -}}

{{- define "meshoptixiq.mounts" -}}
{{- $ctx := .ctx -}}
- name: data
  mountPath: /var/lib/meshq
{{- if eq .component "query-gateway" }}
{{- if $ctx.Values.gateway.rbac.enabled }}
# The whole ConfigMap as a directory (no subPath), so an edit reaches the pod.
- name: rbac
  mountPath: /etc/meshoptixiq/rbac
  readOnly: true
{{- end }}
{{- if $ctx.Values.gateway.apiKeysSecret.name }}
- name: api-keys
  mountPath: /etc/meshoptixiq/api-keys
  readOnly: true
{{- end }}
{{- end }}
{{- if eq .component "soar-dispatcher" }}
- name: soar-rules
  mountPath: /etc/meshoptixiq/soar
  readOnly: true
{{- end }}
{{- if and (eq .component "alerts") $ctx.Values.alerts.rules }}
- name: alert-rules
  mountPath: /etc/meshoptixiq/alerts
  readOnly: true
{{- end }}
{{- if and (eq .component "prober") $ctx.Values.prober.probes }}
- name: probes
  mountPath: /etc/meshoptixiq/prober
  readOnly: true
{{- end }}
{{- end -}}
