git add -A && git commit -m "$(cat <<'EOF'
fix(parser): handle a;b and "quotes"

Co-Authored-By: Agent <agent@example.com>
EOF
)" && git push origin HEAD
