#!/usr/bin/env bash
# Drives the emulator the way Microsoft's REST walkthroughs drive Azure ML: curl for every call,
# jq to read the answers, the operation URL taken from the PUT body
# (properties.properties.AzureAsyncOperationUri), bodies written by hand (trailing commas, a conda
# file with raw newlines, enum values in lower case, numbers as strings).
#
# Environment: MANAGEMENT (the emulator's URL), TOKEN, SUBSCRIPTION_ID, RESOURCE_GROUP, WORKSPACE,
# LOCATION. The code (score/score.py, online/score.py) and the input (data/) are already on the
# default datastore. Prints "step <name>: ok" per step; exits non-zero at the first failure.
set -euo pipefail

API_VERSION="2022-05-01"
WS_ID="/subscriptions/$SUBSCRIPTION_ID/resourceGroups/$RESOURCE_GROUP/providers/Microsoft.MachineLearningServices/workspaces/$WORKSPACE"
WS_URL="$MANAGEMENT$WS_ID"
BATCH_ENDPOINT="walk-batch-$RANDOM"
ONLINE_ENDPOINT="walk-online-$RANDOM"

fail() { echo "FAILED: $*" >&2; exit 1; }

# curl that fails on HTTP errors, printing the body it got
call() {
    local out status
    out=$(mktemp)
    status=$(curl --silent --show-error --location --output "$out" --write-out '%{http_code}' "$@")
    if [[ $status -ge 400 ]]; then
        echo "HTTP $status from curl $*: $(cat "$out")" >&2
        rm -f "$out"
        return 1
    fi
    cat "$out"
    rm -f "$out"
}

wait_for_completion() {
    local operation_url=$1 status=unknown result
    [[ -n $operation_url && $operation_url != null ]] || fail "no operation URL in the PUT response body"
    for _ in $(seq 1 600); do
        result=$(call --request GET "$operation_url" --header "Authorization: Bearer $TOKEN")
        status=$(echo "$result" | jq -r '.status')
        [[ $status == Succeeded || $status == Failed || $status == Canceled ]] && break
        sleep 0.2
    done
    [[ $status == Succeeded ]] || fail "operation $operation_url ended $status: $(echo "$result" | jq -c '.error')"
}

wait_for_job() {
    local job_url=$1 token=$2 status=unknown result
    for _ in $(seq 1 900); do
        result=$(call --request GET "$job_url" --header "Authorization: Bearer $token")
        status=$(echo "$result" | jq -r '.properties.status')
        [[ $status == Completed || $status == Failed || $status == Canceled ]] && break
        sleep 0.2
    done
    [[ $status == Completed ]] || fail "job $job_url ended $status: $(echo "$result" | jq -c '.properties.properties')"
}

# --- the default datastore
response=$(call --request GET "$WS_URL/datastores?api-version=$API_VERSION&isDefault=true" --header "Authorization: Bearer $TOKEN")
DATASTORE=$(echo "$response" | jq -r '.value[0].name')
CONTAINER=$(echo "$response" | jq -r '.value[0].properties.containerName')
ACCOUNT=$(echo "$response" | jq -r '.value[0].properties.accountName')
ENDPOINT_SUFFIX=$(echo "$response" | jq -r '.value[0].properties.endpoint')
[[ $DATASTORE == workspaceblobstore && -n $CONTAINER && -n $ACCOUNT ]] || fail "default datastore: $response"
echo "step datastore: ok"

# --- code (a blob URL, as the walkthroughs register it), model (a datastore URI), environment
call --request PUT "$WS_URL/codes/walk-score/versions/1?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
  \"properties\": {
    \"description\": \"batch scoring code\",
    \"codeUri\": \"https://$ACCOUNT.blob.$ENDPOINT_SUFFIX/$CONTAINER/score\",
  },
}" >/dev/null
call --request PUT "$WS_URL/codes/walk-online/versions/1?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{\"properties\": {\"codeUri\": \"azureml://datastores/$DATASTORE/paths/online\"}}" >/dev/null
call --request PUT "$WS_URL/models/walk-model/versions/1?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"properties\": {
        \"modelUri\": \"azureml://subscriptions/$SUBSCRIPTION_ID/resourceGroups/$RESOURCE_GROUP/workspaces/$WORKSPACE/datastores/$DATASTORE/paths/model\",
    }
}" >/dev/null
CONDA_FILE=$'name: walk-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n  - pip'
response=$(call --request PUT "$WS_URL/environments/walk-env/versions/$RANDOM?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"properties\":{
        \"condaFile\": \"$CONDA_FILE\",
        \"image\": \"mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest\"
    }
}")
ENV_ID=$(echo "$response" | jq -r '.id')
[[ $(echo "$response" | jq -r '.properties.condaFile') == "$CONDA_FILE" ]] || fail "conda file not kept: $response"
echo "step assets: ok"

# --- compute, with a trailing comma inside its properties
call --request PUT "$WS_URL/computes/walk-cluster?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"properties\": {
        \"computeType\": \"AmlCompute\",
        \"properties\": {
            \"vmSize\": \"STANDARD_D2_V2\",
            \"scaleSettings\": {\"maxNodeCount\": \"5\", \"minNodeCount\": 0},
        },
    },
    \"location\": \"$LOCATION\"
}" >/dev/null
echo "step compute: ok"

# --- batch endpoint: the operation URL is read from the body
response=$(call --request PUT "$WS_URL/batchEndpoints/$BATCH_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{\"properties\": {\"authMode\": \"aadToken\"}, \"location\": \"$LOCATION\"}")
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
echo "step batch endpoint: ok"

response=$(call --request PUT "$WS_URL/batchEndpoints/$BATCH_ENDPOINT/deployments/walk-dep?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"location\": \"$LOCATION\",
    \"properties\": {
        \"model\": {\"referenceType\": \"Id\", \"assetId\": \"$WS_ID/models/walk-model/versions/1\"},
        \"codeConfiguration\": {\"codeId\": \"$WS_ID/codes/walk-score/versions/1\", \"scoringScript\": \"score.py\"},
        \"environmentId\": \"$ENV_ID\",
        \"compute\": \"$WS_ID/computes/walk-cluster\",
        \"resources\": {\"instanceCount\": 1},
        \"maxConcurrencyPerInstance\": \"2\",
        \"retrySettings\": {\"maxRetries\": 1, \"timeout\": \"PT30S\"},
        \"errorThreshold\": \"10\",
        \"loggingLevel\": \"info\",
        \"miniBatchSize\": \"2\",
    }
}")
[[ $(echo "$response" | jq -r '.properties.miniBatchSize') == 2 ]] || fail "miniBatchSize not bound to a number: $response"
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
echo "step batch deployment: ok"

response=$(call --request PUT "$WS_URL/batchEndpoints/$BATCH_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{\"properties\": {\"authMode\": \"aadToken\", \"defaults\": {\"deploymentName\": \"walk-dep\"}}, \"location\": \"$LOCATION\"}")
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
echo "step endpoint defaults: ok"

# --- a job over the datastore folder, polled at <scoringUri>/<job name>
SCORING_URI=$(call --request GET "$WS_URL/batchEndpoints/$BATCH_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" | jq -r '.properties.scoringUri')
response=$(call --request POST "$SCORING_URI" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"properties\": {
        \"InputData\": {
            \"walkInput\": {\"JobInputType\": \"UriFolder\", \"Uri\": \"azureml://datastores/$DATASTORE/paths/data/\"},
        },
        \"OutputData\": {
            \"walkOutput\": {\"JobOutputType\": \"UriFolder\", \"Uri\": \"azureml://datastores/$DATASTORE/paths/walk-output/$BATCH_ENDPOINT/\"},
        },
    }
}")
JOB_ID=$(echo "$response" | jq -r '.id')
JOB_NAME=${JOB_ID##*/}
[[ -n $JOB_NAME && $JOB_NAME != null ]] || fail "no job id: $response"
wait_for_job "$SCORING_URI/$JOB_NAME" "$TOKEN"
echo "step batch job: ok $BATCH_ENDPOINT $JOB_NAME"

# --- online endpoint with a system-assigned identity, a deployment, traffic, a scored request
response=$(call --request PUT "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{\"identity\": {\"type\": \"systemAssigned\"}, \"properties\": {\"authMode\": \"AMLToken\"}, \"location\": \"$LOCATION\"}")
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
PRINCIPAL=$(call --request GET "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" | jq -r '.identity.principalId')
[[ -n $PRINCIPAL && $PRINCIPAL != null ]] || fail "no principalId on the system-assigned identity"
echo "step online endpoint: ok"

response=$(call --request PUT "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT/deployments/blue?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{
    \"location\": \"$LOCATION\",
    \"sku\": {\"capacity\": 1, \"name\": \"default\"},
    \"properties\": {
        \"endpointComputeType\": \"managed\",
        \"instanceType\": \"Standard_DS3_v2\",
        \"codeConfiguration\": {\"codeId\": \"$WS_ID/codes/walk-online/versions/1\", \"scoringScript\": \"score.py\"},
        \"environmentId\": \"$ENV_ID\",
    }
}")
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
echo "step online deployment: ok"

response=$(call --request PUT "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" \
    --data-raw "{\"identity\": {\"type\": \"systemAssigned\"}, \"properties\": {\"authMode\": \"AMLToken\", \"traffic\": {\"blue\": \"100\"}}, \"location\": \"$LOCATION\"}")
wait_for_completion "$(echo "$response" | jq -r '.properties.properties.AzureAsyncOperationUri')"
ONLINE_URI=$(call --request GET "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" | jq -r '.properties.scoringUri')
ACCESS_TOKEN=$(call -H "Content-Length: 0" --request POST "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT/token?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" | jq -r '.accessToken')
answer=$(call --request POST "$ONLINE_URI" --header "Authorization: Bearer $ACCESS_TOKEN" \
    --header "Content-Type: application/json" --data-raw '{"data": [[1, 2], [3, 4]]}')
[[ $(echo "$answer" | jq -c '.') == '[3,7]' ]] || fail "online answer: $answer"
echo "step online scoring: ok"

logs=$(call --request POST "$WS_URL/onlineEndpoints/$ONLINE_ENDPOINT/deployments/blue/getLogs?api-version=$API_VERSION" \
    --header "Authorization: Bearer $TOKEN" --header "Content-Type: application/json" --data-raw '{ "tail": 100 }')
echo "$logs" | jq -r '.content' | grep -q "walkthrough init done" || fail "init line not in getLogs: $logs"
echo "step online logs: ok"

# --- clean up: both endpoints are deleted (202, then gone)
for endpoint in "batchEndpoints/$BATCH_ENDPOINT" "onlineEndpoints/$ONLINE_ENDPOINT"; do
    status=$(curl --silent --output /dev/null --write-out '%{http_code}' --request DELETE \
        "$WS_URL/$endpoint?api-version=$API_VERSION" --header "Authorization: Bearer $TOKEN")
    [[ $status == 202 ]] || fail "DELETE $endpoint answered $status"
done
echo "step delete: ok"
echo "WALKTHROUGH OK"
