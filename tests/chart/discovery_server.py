#!/usr/bin/env python3
"""discovery_server.py <port file>: the discovery part of a Kubernetes API server, for
`kubectl apply --dry-run=client` offline.

It stands for an API server that serves core/v1, apps/v1, rbac.authorization.k8s.io/v1,
apiextensions.k8s.io/v1, autoscaling/v2, keda.sh/v1alpha1 (KEDA's CRDs installed), monitoring.coreos.com/v1
(the Prometheus Operator's), cert-manager.io/v1 (cert-manager's) and llmd.ai/v1alpha1 (WVA's CRD installed): kubectl maps each rendered kind to its resource through /api and /apis, GETs the live object
(404 here: nothing exists, so apply computes a create) and prints the object it would send. Nothing is
stored; every other path answers a 404 Status. Binds 127.0.0.1 on a free port and writes the port to
<port file>.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def resource(name, kind, namespaced=True):
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}


GROUPS = {
    "autoscaling": ("v2", [resource("horizontalpodautoscalers", "HorizontalPodAutoscaler")]),
    "keda.sh": ("v1alpha1", [resource("scaledobjects", "ScaledObject")]),
    "apps": ("v1", [resource("deployments", "Deployment")]),
    "rbac.authorization.k8s.io": ("v1", [resource("clusterroles", "ClusterRole", False),
                                         resource("clusterrolebindings", "ClusterRoleBinding", False),
                                         resource("roles", "Role"), resource("rolebindings", "RoleBinding")]),
    "apiextensions.k8s.io": ("v1", [resource("customresourcedefinitions", "CustomResourceDefinition", False)]),
    "llmd.ai": ("v1alpha1", [resource("variantautoscalings", "VariantAutoscaling")]),
    "monitoring.coreos.com": ("v1", [resource("servicemonitors", "ServiceMonitor")]),
    "cert-manager.io": ("v1", [resource("certificates", "Certificate")]),
}
CORE = [resource("configmaps", "ConfigMap"), resource("namespaces", "Namespace", False),
        resource("services", "Service"), resource("serviceaccounts", "ServiceAccount")]


def documents():
    docs = {
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": CORE},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
    }
    for group, (version, resources) in GROUPS.items():
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        docs["/apis"]["groups"].append({"name": group, "versions": [gv], "preferredVersion": gv})
        docs[f"/apis/{group}/{version}"] = {"kind": "APIResourceList", "apiVersion": "v1",
                                            "groupVersion": f"{group}/{version}", "resources": resources}
    return docs


class Handler(BaseHTTPRequestHandler):
    docs = documents()

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        body = self.docs.get(path)
        code = 200
        if body is None:
            code = 404
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                    "code": 404, "message": f"{path} not found"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
