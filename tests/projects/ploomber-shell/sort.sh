# sort the numbers, count them
set -euo pipefail
echo sort >> kernel-runs.txt
sort {{order}} {{upstream['get']['data']}} > {{product['data']}}
wc -l < {{upstream['get']['data']}} | tr -d ' ' > {{product['lines']}}
