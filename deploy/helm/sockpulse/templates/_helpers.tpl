{{- define "sockpulse.labels" -}}
app.kubernetes.io/name: sockpulse
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
