package corpus

// The vocabulary the generator draws from. Every surface form of a concept
// is listed, Korean and English: the generator picks one at random, so a
// "quiet" café may say 조용한, 한적한 or "calm and peaceful". That is what
// makes the corpus a fair test of keyword against meaning search: the
// judgments follow the concept, the text shows only one of its words.

// area is a neighbourhood people search by name. Real addresses name the
// district and road (서울 마포구 와우산로), not the neighbourhood (홍대), so
// the neighbourhood appears only where a store's name or description says
// it, as in real listings.
type area struct {
	Key      string
	Ko, En   string   // 홍대 / Hongdae
	Station  string   // branch names of chains: 스타벅스 홍대입구역점
	Gu       string   // district in the address
	Roads    []string // road names in the address
	Lat, Lng float64
	Weight   int // share of stores
}

var areas = []area{
	{"hongdae", "홍대", "Hongdae", "홍대입구역", "마포구", []string{"와우산로", "어울마당로", "홍익로", "잔다리로"}, 37.5563, 126.9236, 12},
	{"gangnam", "강남", "Gangnam", "강남역", "강남구", []string{"테헤란로", "강남대로", "역삼로", "봉은사로"}, 37.4979, 127.0276, 12},
	{"seongsu", "성수", "Seongsu", "성수역", "성동구", []string{"연무장길", "아차산로", "성수이로", "왕십리로"}, 37.5446, 127.0557, 9},
	{"itaewon", "이태원", "Itaewon", "이태원역", "용산구", []string{"이태원로", "보광로", "녹사평대로", "회나무로"}, 37.5345, 126.9946, 8},
	{"myeongdong", "명동", "Myeongdong", "명동역", "중구", []string{"명동길", "명동8길", "퇴계로", "남대문로"}, 37.5636, 126.9826, 7},
	{"sinchon", "신촌", "Sinchon", "신촌역", "서대문구", []string{"연세로", "신촌로", "명물길", "창천동길"}, 37.5559, 126.9368, 7},
	{"jamsil", "잠실", "Jamsil", "잠실역", "송파구", []string{"올림픽로", "송파대로", "백제고분로", "석촌호수로"}, 37.5133, 127.1001, 7},
	{"yeouido", "여의도", "Yeouido", "여의도역", "영등포구", []string{"국제금융로", "여의대로", "의사당대로", "여의나루로"}, 37.5219, 126.9245, 6},
	{"jongno", "종로", "Jongno", "종각역", "종로구", []string{"종로", "삼일대로", "인사동길", "우정국로"}, 37.5704, 126.9920, 6},
	{"konkuk", "건대", "Konkuk University", "건대입구역", "광진구", []string{"능동로", "아차산로", "동일로", "광나루로"}, 37.5404, 127.0693, 6},
	{"euljiro", "을지로", "Euljiro", "을지로3가역", "중구", []string{"을지로", "충무로", "수표로", "창경궁로"}, 37.5661, 126.9919, 5},
	{"yeonnam", "연남동", "Yeonnam-dong", "연남", "마포구", []string{"동교로", "성미산로", "연희로", "월드컵북로"}, 37.5660, 126.9250, 5},
	{"apgujeong", "압구정", "Apgujeong", "압구정역", "강남구", []string{"압구정로", "도산대로", "논현로", "언주로"}, 37.5270, 127.0286, 4},
	{"mangwon", "망원", "Mangwon", "망원역", "마포구", []string{"망원로", "포은로", "월드컵로", "희우정로"}, 37.5559, 126.9015, 3},
	{"pangyo", "판교", "Pangyo", "판교역", "성남시 분당구", []string{"판교역로", "대왕판교로", "분당내곡로", "운중로"}, 37.3947, 127.1112, 3},
}

// kind is a type of store within a category: what people actually ask for
// (라멘, not FOOD).
type kind struct {
	Key, Category string
	Ko, En        []string // what the place is called
	MenuKo        []string // what it sells
	MenuEn        []string
	Short         string // a short word for invented names: 하루 라멘
	Weight        int
	Attrs         []string // attributes that fit this kind
}

var commonAttrs = []string{"cozy", "cheap", "premium", "date", "group", "solo", "pet", "view", "kids", "parking", "late"}

var kinds = []kind{
	// CAFE
	{"coffee", "CAFE", []string{"카페", "로스터리 카페", "커피 전문점", "에스프레소 바"}, []string{"coffee shop", "roastery", "espresso bar", "café"},
		[]string{"아메리카노", "카페라떼", "핸드드립", "콜드브루", "플랫화이트"}, []string{"americano", "latte", "hand drip", "cold brew", "flat white"},
		"커피", 14, []string{"quiet", "study", "cozy", "cheap", "premium", "date", "pet", "view", "late"}},
	{"dessert_cafe", "CAFE", []string{"디저트 카페", "케이크 카페"}, []string{"dessert café", "cake shop"},
		[]string{"조각 케이크", "마카롱", "크로플", "빙수", "티라미수"}, []string{"cake", "macarons", "croffle", "bingsu", "tiramisu"},
		"디저트", 6, []string{"quiet", "cozy", "date", "kids", "view", "premium"}},
	{"tea", "CAFE", []string{"찻집", "티하우스", "전통찻집"}, []string{"tea house", "tea room"},
		[]string{"녹차", "밀크티", "대추차", "말차라떼", "보이차"}, []string{"green tea", "milk tea", "jujube tea", "matcha latte", "pu-erh tea"},
		"차", 3, []string{"quiet", "cozy", "study", "date", "premium"}},
	{"brunch", "CAFE", []string{"브런치 카페", "브런치 레스토랑"}, []string{"brunch café", "all-day brunch"},
		[]string{"에그 베네딕트", "팬케이크", "프렌치토스트", "샌드위치"}, []string{"eggs benedict", "pancakes", "french toast", "sandwiches"},
		"브런치", 4, []string{"cozy", "date", "pet", "kids", "view", "premium"}},
	// FOOD
	{"korean_bbq", "FOOD", []string{"고깃집", "삼겹살집", "한우 구이집", "숯불구이"}, []string{"Korean BBQ", "barbecue grill", "pork belly house"},
		[]string{"삼겹살", "목살", "양념갈비", "된장찌개", "한우 등심"}, []string{"pork belly", "pork neck", "marinated ribs", "soybean stew", "hanwoo sirloin"},
		"고기", 7, []string{"group", "cheap", "premium", "late", "parking", "lunch"}},
	{"chicken", "FOOD", []string{"치킨집", "치킨 호프", "통닭집"}, []string{"fried chicken", "chicken and beer"},
		[]string{"후라이드 치킨", "양념치킨", "간장치킨", "생맥주"}, []string{"fried chicken", "sweet spicy chicken", "soy garlic chicken", "draft beer"},
		"치킨", 6, []string{"group", "cheap", "late", "spicy", "kids"}},
	{"ramen", "FOOD", []string{"라멘집", "일본 라멘 전문점", "라멘 가게"}, []string{"ramen shop", "Japanese ramen bar"},
		[]string{"돈코츠 라멘", "쇼유 라멘", "츠케멘", "교자"}, []string{"tonkotsu ramen", "shoyu ramen", "tsukemen", "gyoza"},
		"라멘", 4, []string{"solo", "cheap", "late", "spicy", "lunch"}},
	{"sushi", "FOOD", []string{"초밥집", "스시 오마카세", "일식당"}, []string{"sushi bar", "omakase", "Japanese restaurant"},
		[]string{"모둠초밥", "연어덮밥", "사시미", "우동"}, []string{"assorted sushi", "salmon rice bowl", "sashimi", "udon"},
		"스시", 4, []string{"premium", "date", "solo", "lunch", "cheap"}},
	{"pizza", "FOOD", []string{"피자집", "화덕피자 전문점"}, []string{"pizzeria", "wood-fired pizza"},
		[]string{"마르게리타", "페퍼로니 피자", "고르곤졸라 피자"}, []string{"margherita", "pepperoni pizza", "gorgonzola pizza"},
		"피자", 3, []string{"group", "kids", "date", "cheap"}},
	{"burger", "FOOD", []string{"수제버거 가게", "버거 전문점"}, []string{"burger joint", "handmade burgers"},
		[]string{"치즈버거", "베이컨 버거", "감자튀김", "밀크셰이크"}, []string{"cheeseburger", "bacon burger", "fries", "milkshake"},
		"버거", 4, []string{"solo", "cheap", "kids", "late", "lunch"}},
	{"pasta", "FOOD", []string{"파스타 가게", "이탈리안 레스토랑"}, []string{"pasta bar", "Italian restaurant", "trattoria"},
		[]string{"까르보나라", "알리오 올리오", "리조또", "라자냐"}, []string{"carbonara", "aglio e olio", "risotto", "lasagna"},
		"파스타", 4, []string{"date", "premium", "cozy", "view", "lunch"}},
	{"bunsik", "FOOD", []string{"분식집", "떡볶이 가게"}, []string{"snack bar", "tteokbokki shop", "Korean street food"},
		[]string{"떡볶이", "김밥", "순대", "튀김", "라볶이"}, []string{"tteokbokki", "gimbap", "blood sausage", "fried snacks", "rabokki"},
		"분식", 5, []string{"cheap", "spicy", "solo", "kids", "lunch"}},
	{"gukbap", "FOOD", []string{"국밥집", "해장국집", "설렁탕집"}, []string{"rice soup restaurant", "hangover soup place", "beef bone soup house"},
		[]string{"순대국밥", "돼지국밥", "뼈해장국", "설렁탕"}, []string{"sundae rice soup", "pork rice soup", "pork bone soup", "ox bone soup"},
		"국밥", 4, []string{"cheap", "late", "solo", "spicy", "lunch"}},
	{"cold_noodles", "FOOD", []string{"냉면집", "막국수집"}, []string{"cold noodle house", "naengmyeon restaurant"},
		[]string{"물냉면", "비빔냉면", "막국수", "수육"}, []string{"cold buckwheat noodles", "spicy cold noodles", "makguksu", "boiled pork"},
		"냉면", 2, []string{"cheap", "lunch", "spicy", "group"}},
	{"vegan", "FOOD", []string{"비건 식당", "채식 레스토랑"}, []string{"vegan restaurant", "plant-based kitchen"},
		[]string{"비건 버거", "두부 스테이크", "샐러드 볼", "버섯 리조또"}, []string{"vegan burger", "tofu steak", "salad bowl", "mushroom risotto"},
		"채식", 2, []string{"cozy", "date", "pet", "lunch", "premium"}},
	{"chinese", "FOOD", []string{"중국집", "중식당", "마라탕 가게"}, []string{"Chinese restaurant", "malatang shop"},
		[]string{"짜장면", "짬뽕", "탕수육", "마라탕", "꿔바로우"}, []string{"black bean noodles", "spicy seafood noodles", "sweet and sour pork", "malatang", "guobaorou"},
		"중식", 5, []string{"cheap", "spicy", "group", "late", "lunch", "solo"}},
	{"vietnamese", "FOOD", []string{"쌀국수 가게", "베트남 음식점"}, []string{"pho restaurant", "Vietnamese kitchen"},
		[]string{"쌀국수", "분짜", "반미", "월남쌈"}, []string{"pho", "bun cha", "banh mi", "fresh spring rolls"},
		"쌀국수", 3, []string{"cheap", "solo", "lunch", "spicy"}},
	{"hansik", "FOOD", []string{"한식당", "백반집", "가정식 식당"}, []string{"Korean home cooking", "Korean set meals"},
		[]string{"김치찌개", "된장찌개", "제육볶음", "비빔밥", "불고기"}, []string{"kimchi stew", "soybean paste stew", "spicy stir-fried pork", "bibimbap", "bulgogi"},
		"밥집", 6, []string{"cheap", "solo", "lunch", "group", "spicy", "kids"}},
	// BAKERY
	{"bakery", "BAKERY", []string{"빵집", "베이커리", "동네 제과점"}, []string{"bakery", "boulangerie"},
		[]string{"소금빵", "크루아상", "식빵", "바게트", "단팥빵"}, []string{"salt bread", "croissants", "milk bread", "baguettes", "red bean buns"},
		"빵", 6, []string{"cozy", "kids", "cheap", "premium", "parking"}},
	{"donut", "BAKERY", []string{"도넛 가게", "도넛 전문점"}, []string{"donut shop"},
		[]string{"글레이즈드 도넛", "크림 도넛", "꽈배기"}, []string{"glazed donuts", "cream donuts", "twisted donuts"},
		"도넛", 2, []string{"cheap", "kids"}},
	// BAR
	{"pub", "BAR", []string{"맥주집", "호프집", "수제맥주 펍"}, []string{"pub", "craft beer bar", "beer hall"},
		[]string{"수제맥주", "생맥주", "피시앤칩스", "감자튀김"}, []string{"craft beer", "draft beer", "fish and chips", "fries"},
		"맥주", 5, []string{"group", "late", "cheap", "view"}},
	{"wine_bar", "BAR", []string{"와인바", "내추럴 와인바"}, []string{"wine bar", "natural wine bar"},
		[]string{"내추럴 와인", "치즈 플래터", "하몽"}, []string{"natural wine", "cheese platter", "jamón"},
		"와인", 3, []string{"date", "quiet", "premium", "cozy", "view"}},
	{"cocktail", "BAR", []string{"칵테일 바", "위스키 바", "스피크이지 바"}, []string{"cocktail bar", "whisky bar", "speakeasy"},
		[]string{"하이볼", "위스키", "시그니처 칵테일", "진토닉"}, []string{"highball", "whisky", "signature cocktails", "gin and tonic"},
		"바", 3, []string{"date", "quiet", "premium", "late", "view"}},
	{"izakaya", "BAR", []string{"이자카야", "일본식 선술집"}, []string{"izakaya", "Japanese pub"},
		[]string{"사케", "꼬치구이", "하이볼", "가라아게"}, []string{"sake", "yakitori skewers", "highball", "karaage"},
		"이자카야", 3, []string{"date", "group", "late", "cozy"}},
	{"pocha", "BAR", []string{"포장마차", "실내포차", "술집"}, []string{"pojangmacha", "soju tent bar"},
		[]string{"소주", "닭발", "오뎅탕", "계란말이"}, []string{"soju", "spicy chicken feet", "fish cake soup", "rolled omelette"},
		"포차", 3, []string{"group", "late", "cheap", "spicy"}},
	// CONVENIENCE
	{"convenience", "CONVENIENCE", []string{"편의점"}, []string{"convenience store"},
		[]string{"도시락", "삼각김밥", "컵라면", "커피"}, []string{"lunch boxes", "rice balls", "cup noodles", "coffee"},
		"마트", 6, []string{"late", "cheap"}},
	// BEAUTY
	{"hair", "BEAUTY", []string{"미용실", "헤어살롱", "헤어숍"}, []string{"hair salon", "hair studio"},
		[]string{"커트", "펌", "염색", "클리닉"}, []string{"haircut", "perm", "hair coloring", "scalp care"},
		"헤어", 5, []string{"cheap", "premium", "parking", "kids"}},
	{"nail", "BEAUTY", []string{"네일숍", "네일아트 전문점"}, []string{"nail salon", "nail art studio"},
		[]string{"젤네일", "패디큐어", "네일아트", "손톱 케어"}, []string{"gel nails", "pedicure", "nail art", "manicure"},
		"네일", 3, []string{"cheap", "premium", "quiet"}},
	{"skincare", "BEAUTY", []string{"피부관리실", "에스테틱", "마사지숍"}, []string{"skin care clinic", "spa", "massage studio"},
		[]string{"수분관리", "경락 마사지", "여드름 관리"}, []string{"hydrating facial", "deep tissue massage", "acne care"},
		"에스테", 2, []string{"quiet", "premium", "parking"}},
	// FASHION
	{"clothing", "FASHION", []string{"옷가게", "편집숍", "의류 매장"}, []string{"clothing store", "select shop", "boutique"},
		[]string{"니트", "원피스", "데님", "셔츠"}, []string{"knitwear", "dresses", "denim", "shirts"},
		"샵", 4, []string{"cheap", "premium", "parking"}},
	{"vintage", "FASHION", []string{"빈티지숍", "구제 옷가게"}, []string{"vintage shop", "thrift store"},
		[]string{"빈티지 자켓", "구제 청바지", "중고 명품"}, []string{"vintage jackets", "second-hand jeans", "pre-owned luxury"},
		"빈티지", 2, []string{"cheap"}},
	{"shoes", "FASHION", []string{"신발 가게", "스니커즈 편집숍"}, []string{"shoe store", "sneaker shop"},
		[]string{"운동화", "스니커즈", "구두"}, []string{"running shoes", "sneakers", "dress shoes"},
		"슈즈", 2, []string{"cheap", "premium"}},
	// ENTERTAINMENT
	{"karaoke", "ENTERTAINMENT", []string{"노래방", "코인노래방"}, []string{"karaoke", "coin karaoke"},
		[]string{"노래방", "코인노래", "단체룸"}, []string{"karaoke rooms", "coin karaoke booths", "party rooms"},
		"노래", 3, []string{"group", "late", "cheap"}},
	{"pc_bang", "ENTERTAINMENT", []string{"PC방", "피씨방"}, []string{"PC bang", "gaming café"},
		[]string{"게이밍 PC", "라면", "음료"}, []string{"gaming PCs", "instant noodles", "drinks"},
		"PC", 2, []string{"late", "cheap", "solo"}},
	{"board_game", "ENTERTAINMENT", []string{"보드게임 카페", "보드게임방"}, []string{"board game café"},
		[]string{"보드게임", "음료", "간식"}, []string{"board games", "drinks", "snacks"},
		"보드게임", 2, []string{"group", "date", "kids"}},
	{"escape_room", "ENTERTAINMENT", []string{"방탈출 카페", "방탈출"}, []string{"escape room"},
		[]string{"공포 테마", "추리 테마"}, []string{"horror themes", "mystery themes"},
		"방탈출", 2, []string{"group", "date"}},
	// ETC
	{"laundry", "ETC", []string{"코인세탁소", "빨래방"}, []string{"laundromat", "coin laundry"},
		[]string{"세탁", "건조", "운동화 빨래"}, []string{"washing", "drying", "sneaker washing"},
		"세탁", 2, []string{"late", "cheap", "parking"}},
	{"flower", "ETC", []string{"꽃집", "플라워숍"}, []string{"florist", "flower shop"},
		[]string{"꽃다발", "화분", "꽃바구니"}, []string{"bouquets", "potted plants", "flower baskets"},
		"꽃", 2, []string{"cheap", "premium"}},
}

// attr is a quality of a place, with its ways of being said.
type attr struct {
	Key    string
	Ko, En []string
}

var attrs = []attr{
	{"quiet", []string{"조용한", "조용하고 한적한", "한적한", "차분한 분위기의", "소음 없이 아늑한", "사람이 붐비지 않는"}, []string{"quiet", "calm and peaceful", "hushed, relaxed", "peaceful"}},
	{"cozy", []string{"아늑한", "따뜻한 분위기의", "포근한", "감성적인"}, []string{"cozy", "warm and snug", "homey"}},
	{"study", []string{"공부하기 좋은", "콘센트가 많은", "카공하기 좋은", "노트북 작업하기 편한", "오래 머물기 좋은"}, []string{"great for studying", "laptop-friendly with plenty of outlets", "perfect for working remotely"}},
	{"cheap", []string{"가성비 좋은", "저렴한", "착한 가격의", "부담 없는 가격의", "가격이 싼"}, []string{"cheap", "budget-friendly", "affordable", "inexpensive"}},
	{"premium", []string{"고급스러운", "프리미엄급의", "격식 있는", "럭셔리한"}, []string{"upscale", "premium", "high-end", "luxurious"}},
	{"late", []string{"24시간 영업하는", "새벽까지 여는", "심야 영업하는", "밤늦게까지 하는"}, []string{"open 24 hours", "open late", "late-night"}},
	{"date", []string{"데이트하기 좋은", "분위기 좋은", "로맨틱한", "연인과 가기 좋은"}, []string{"romantic", "perfect for a date", "great date spot"}},
	{"group", []string{"단체석이 있는", "회식하기 좋은", "넓은 좌석의", "모임하기 좋은"}, []string{"great for groups", "spacious with large tables", "good for parties"}},
	{"solo", []string{"혼밥하기 좋은", "1인석이 있는", "혼자 가기 좋은", "바 좌석이 있는"}, []string{"solo-friendly", "good for eating alone", "counter seating for one"}},
	{"pet", []string{"반려견 동반 가능한", "애견 동반이 되는", "강아지와 함께 갈 수 있는", "펫 프렌들리한"}, []string{"pet-friendly", "dogs welcome", "dog-friendly"}},
	{"view", []string{"뷰가 좋은", "루프탑이 있는", "전망 좋은", "창밖 풍경이 멋진"}, []string{"rooftop", "great view", "with a view"}},
	{"kids", []string{"아이와 함께 가기 좋은", "키즈존이 있는", "가족 단위로 가기 좋은", "유아 의자가 있는"}, []string{"kid-friendly", "family-friendly", "great with children"}},
	{"parking", []string{"주차 가능한", "주차장이 넓은", "발렛 주차 되는"}, []string{"parking available", "with free parking"}},
	{"spicy", []string{"매운", "얼큰한", "불맛 나는", "화끈하게 매운"}, []string{"spicy", "fiery", "hot and spicy"}},
	{"lunch", []string{"점심 특선이 있는", "런치 세트가 있는", "점심 메뉴가 맛있는", "직장인 점심으로 좋은"}, []string{"lunch specials", "set lunch", "weekday lunch deals"}},
}

// brand is a chain; its stores are named "<brand> <station>점".
type brand struct {
	Key    string
	Ko, En string
	Kind   string
	Weight int
}

var brands = []brand{
	{"starbucks", "스타벅스", "Starbucks", "coffee", 6},
	{"ediya", "이디야커피", "EDIYA Coffee", "coffee", 3},
	{"twosome", "투썸플레이스", "A Twosome Place", "dessert_cafe", 3},
	{"megacoffee", "메가커피", "Mega Coffee", "coffee", 3},
	{"bluebottle", "블루보틀", "Blue Bottle", "coffee", 1},
	{"mcdonalds", "맥도날드", "McDonald's", "burger", 3},
	{"burgerking", "버거킹", "Burger King", "burger", 2},
	{"kyochon", "교촌치킨", "Kyochon Chicken", "chicken", 2},
	{"bbq", "BBQ치킨", "BBQ Chicken", "chicken", 2},
	{"parisbaguette", "파리바게뜨", "Paris Baguette", "bakery", 3},
	{"touslesjours", "뚜레쥬르", "Tous les Jours", "bakery", 2},
	{"cu", "CU", "CU", "convenience", 3},
	{"gs25", "GS25", "GS25", "convenience", 3},
	{"seveneleven", "세븐일레븐", "7-Eleven", "convenience", 2},
	{"oliveyoung", "올리브영", "Olive Young", "skincare", 2},
	{"juno", "준오헤어", "Juno Hair", "hair", 1},
}

// Pieces of invented independent names.
var (
	namePrefixKo = []string{"달빛", "온기", "모퉁이", "소담", "하루", "골목", "오늘", "숲속", "바다", "별빛", "한옥", "동네", "봄날", "구름", "마당", "작은", "어반", "초록", "노을", "우리", "미소", "산들", "온더", "두번째", "세모", "다락", "담벼락", "빛나는", "느린", "새벽"}
	namePrefixEn = []string{"Moon", "Corner", "Urban", "Little", "Slow", "Blue", "Green", "Daily", "Sunny", "Cloud", "Maple", "Harbor", "North", "Velvet", "Golden", "Hidden", "Paper", "Stone", "Wild", "Second"}
	nameSuffixKo = []string{"상점", "집", "당", "하우스", "공방", "식탁", "연구소", "가게"}
	nameSuffixEn = []string{"House", "Lab", "Room", "Studio", "Kitchen", "Club", "Table", "Works"}
)
