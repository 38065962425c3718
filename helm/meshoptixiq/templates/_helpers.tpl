{{/* Names and labels. */}}
{{- define "meshoptixiq.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meshoptixiq.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "query-gateway") */}}
{{- define "meshoptixiq.selector" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "meshoptixiq.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshoptixiq.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The in-cluster URL of a component's Service: (dict "ctx" $ "component" "licensing");
graph-engine-query listens on the graph engine's port. */}}
{{- define "meshoptixiq.url" -}}
{{- $port := (index .ctx.Values.services (.component | trimSuffix "-query")).port -}}
{{- printf "http://%s-%s:%v" (include "meshoptixiq.fullname" .ctx) .component $port -}}
{{- end -}}

{{- define "meshoptixiq.image" -}}
{{- printf "%s/%s:%s" .ctx.Values.image.repository .component (default .ctx.Chart.AppVersion .ctx.Values.image.tag) -}}
{{- end -}}

{{/* Python module of a service: graph-engine -> meshq_graph_engine */}}
{{- define "meshoptixiq.module" -}}
{{- printf "meshq_%s" (.component | replace "-" "_") -}}
{{- end -}}

{{/* Environment variable name of each service's port. */}}
{{- define "meshoptixiq.portEnv" -}}
{{- $names := dict "licensing" "MESHQ_LICENSING_PORT" "graph-engine" "MESHQ_GRAPH_ENGINE_PORT" "query-gateway" "MESHQ_GATEWAY_PORT" "audit" "MESHQ_AUDIT_PORT" "soar-dispatcher" "MESHQ_SOAR_DISPATCHER_PORT" "netbox-sync" "MESHQ_NETBOX_SYNC_PORT" "mcp-bridge" "MESHQ_MCP_PORT" "alerts" "MESHQ_ALERTS_PORT" "prober" "MESHQ_PROBER_PORT" "flow-collector" "MESHQ_FLOW_COLLECTOR_PORT" -}}
{{- index $names . -}}
{{- end -}}

{{/* A secretKeyRef env entry: (dict "env" "NAME" "secret" "s" "key" "k" "optional" false) */}}
{{- define "meshoptixiq.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Settings every service reads. */}}
{{- define "meshoptixiq.env.base" -}}
- name: MESHQ_HOST
  value: "0.0.0.0"
- name: MESHQ_LOG_FORMAT
  value: json
- name: MESHQ_LOG_LEVEL
  value: {{ .ctx.Values.logLevel | quote }}
- name: MESHOPTIXIQ_DEMO_MODE
  value: {{ .ctx.Values.demoMode | toString | quote }}
- name: MESHQ_DATA_DIR
  value: /var/lib/meshq
- name: {{ include "meshoptixiq.portEnv" .component }}
  value: {{ (index .ctx.Values.services .component).port | toString | quote }}
{{- end -}}

{{/* The link each pushed alert carries: alerts.publicUrl, else the gateway's ingress URL. */}}
{{- define "meshoptixiq.alertsPublicUrl" -}}
{{- $ing := .Values.gateway.ingress -}}
{{- if .Values.alerts.publicUrl -}}
{{- .Values.alerts.publicUrl -}}
{{- else if $ing.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" $ing.tls.enabled) $ing.host -}}
{{- end -}}
{{- end -}}

{{/* The flow collector's UDP listeners that are on: name -> port. */}}
{{- define "meshoptixiq.flowPorts" -}}
{{- $f := .Values.flowCollector -}}
{{- $ports := dict -}}
{{- if $f.netflowPort }}{{ $_ := set $ports "netflow" $f.netflowPort }}{{ end -}}
{{- if $f.ipfixPort }}{{ $_ := set $ports "ipfix" $f.ipfixPort }}{{ end -}}
{{- if $f.sflowPort }}{{ $_ := set $ports "sflow" $f.sflowPort }}{{ end -}}
{{- toJson $ports -}}
{{- end -}}

{{/* Kafka connection: every service but the MCP bridge, and the hook Job. */}}
{{- define "meshoptixiq.env.kafka" -}}
{{- $k := .Values.kafka -}}
- name: MESHQ_KAFKA_BOOTSTRAP
  value: {{ $k.bootstrap | quote }}
- name: MESHQ_KAFKA_IDEMPOTENT
  value: {{ $k.idempotent | toString | quote }}
- name: MESHQ_KAFKA_PARTITIONS
  value: {{ $k.partitions | toString | quote }}
- name: MESHQ_KAFKA_REPLICATION
  value: {{ $k.replication | toString | quote }}
- name: MESHQ_KAFKA_TOPIC_PREFIX
  value: {{ $k.topicPrefix | quote }}
- name: MESHQ_KAFKA_GROUP_PREFIX
  value: {{ $k.groupPrefix | quote }}
- name: MESHQ_KAFKA_SECURITY_PROTOCOL
  value: {{ $k.securityProtocol | quote }}
{{- if hasPrefix "SASL_" $k.securityProtocol }}
- name: MESHQ_KAFKA_SASL_MECHANISM
  value: {{ $k.sasl.mechanism | quote }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_KAFKA_SASL_USERNAME" "secret" (required "kafka.sasl.existingSecret is required with a SASL securityProtocol" $k.sasl.existingSecret) "key" $k.sasl.usernameKey) }}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_KAFKA_SASL_PASSWORD" "secret" $k.sasl.existingSecret "key" $k.sasl.passwordKey) }}
{{- end }}
{{- if $k.tls.caSecret }}
- name: MESHQ_KAFKA_SSL_CAFILE
  value: /etc/meshoptixiq/kafka-ca/{{ $k.tls.caKey }}
{{- end }}
{{- end -}}

{{/* The Secret holding the service credential: yours, or the one the chart generates. */}}
{{- define "meshoptixiq.serviceTokenSecret" -}}
{{- default (printf "%s-service-token" (include "meshoptixiq.fullname" .)) .Values.serviceToken.existingSecret -}}
{{- end -}}

{{/* The service credential: every service that serves or calls an internal API. */}}
{{- define "meshoptixiq.env.serviceToken" -}}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_SERVICE_TOKEN" "secret" (include "meshoptixiq.serviceTokenSecret" .) "key" .Values.serviceToken.key) }}
{{- end -}}

{{- define "meshoptixiq.env.postgres" -}}
{{ include "meshoptixiq.secretEnv" (dict "env" "MESHQ_POSTGRES_URL" "secret" .Values.postgres.existingSecret "key" .Values.postgres.urlKey) }}
{{- end -}}

{{- define "meshoptixiq.env.licensingUrl" -}}
- name: MESHQ_LICENSING_URL
  value: {{ include "meshoptixiq.url" (dict "ctx" . "component" "licensing") | quote }}
{{ include "meshoptixiq.env.licensePublicKey" . }}
{{- end -}}

{{/* A self-hosted license server's public key: every service verifies the license with it. */}}
{{- define "meshoptixiq.env.licensePublicKey" -}}
- name: MESHOPTIXIQ_LICENSE_PUBLIC_KEY
  value: {{ .Values.license.publicKey | default "" | quote }}
{{- end -}}

{{/* Volumes every pod has: a writable /tmp and data directory on a read-only root. */}}
{{- define "meshoptixiq.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret | quote }}
    items:
      - key: {{ .Values.kafka.tls.caKey | quote }}
        path: {{ .Values.kafka.tls.caKey | quote }}
{{- end }}
{{- end -}}

{{- define "meshoptixiq.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/meshoptixiq/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "meshoptixiq.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "meshoptixiq.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
{{- end -}}

{{- define "meshoptixiq.placement" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Where the gateway sends queries: the query replicas when they run, else the writer. */}}
{{- define "meshoptixiq.queryUrl" -}}
{{- $component := ternary "graph-engine-query" "graph-engine" (index .Values.services "graph-engine").query.enabled -}}
{{- include "meshoptixiq.url" (dict "ctx" . "component" $component) -}}
{{- end -}}

{{/* The Kubernetes collector's ServiceAccount. */}}
{{- define "meshoptixiq.k8sServiceAccountName" -}}
{{- if .Values.k8s.serviceAccount.create -}}
{{- default (printf "%s-k8s-collector" (include "meshoptixiq.fullname" .)) .Values.k8s.serviceAccount.name -}}
{{- else -}}
{{- required "k8s.serviceAccount.name: name the ServiceAccount the collector runs as (or set create: true)" .Values.k8s.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes collector, a container of each graph-engine pod (k8s.enabled): it writes
the cluster's inventory into the pod's data directory, where the graph engine reads it. */}}
{{- define "meshoptixiq.k8sCollector" -}}
{{- $ctx := .ctx -}}
{{- $k := $ctx.Values.k8s -}}
- name: k8s-collector
  image: {{ include "meshoptixiq.image" (dict "ctx" $ctx "component" "graph-engine") | quote }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  command:
    - python
    - -m
    - network_discovery.k8s
    - --cluster
    - {{ required "k8s.cluster: name the cluster (lower-case letters, digits, '.', '_', '-')" $k.cluster | quote }}
    - --watch
    - --directory
    - /var/lib/meshq/k8s
    {{- if $k.kubeconfigSecret.name }}
    - --kubeconfig
    - /etc/meshoptixiq/kubeconfig/{{ $k.kubeconfigSecret.key }}
    {{- if $k.kubeconfigSecret.context }}
    - --context
    - {{ $k.kubeconfigSecret.context | quote }}
    {{- end }}
    {{- else }}
    - --in-cluster
    {{- end }}
  resources:
    {{- toYaml $k.resources | nindent 4 }}
  securityContext:
    {{- include "meshoptixiq.containerSecurityContext" $ctx | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: data
      mountPath: /var/lib/meshq
    {{- if $k.kubeconfigSecret.name }}
    - name: k8s-kubeconfig
      mountPath: /etc/meshoptixiq/kubeconfig
      readOnly: true
    {{- else }}
    # The ServiceAccount's token, here only: where the in-cluster client looks for it.
    - name: k8s-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- end }}
{{- end -}}

{{- define "meshoptixiq.k8sVolumes" -}}
{{- $k := .Values.k8s -}}
{{- if $k.kubeconfigSecret.name }}
- name: k8s-kubeconfig
  secret:
    secretName: {{ $k.kubeconfigSecret.name | quote }}
    items:
      - key: {{ $k.kubeconfigSecret.key | quote }}
        path: {{ $k.kubeconfigSecret.key | quote }}
{{- else }}
- name: k8s-token
  projected:
    defaultMode: 0440
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3600
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end }}
{{- end -}}
