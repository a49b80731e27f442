// widget attachShadow placeholder
