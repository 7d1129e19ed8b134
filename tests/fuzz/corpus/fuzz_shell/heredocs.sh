cat <<-EOF > ~/.config/app.conf
	key=$(pass show app)
	EOF
cat <<'RAW' <<<"here $(string)"
$(not run)
RAW
((i++)); echo $((cd /tmp; rm -f x) )
