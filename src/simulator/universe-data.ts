/**
 * Static reference data for the simulated universe: S&P 100 constituents, major
 * ETFs and a few non-US listings. Prices are plausible late-2026 levels, not quotes.
 * Columns: symbol|company name|primary exchange|sector|industry|category|price|conid (0 = derived)|
 *          average daily volume (millions)|market cap (billions, 0 = n/a)|P/E (0 = n/a)
 * Conids given explicitly are IB's real ones; the others are derived deterministically from the symbol.
 */
export const SP100 = `
AAPL|APPLE INC|NASDAQ|Technology|Computers|Computers|286.40|265598|52|4250|35
ABBV|ABBVIE INC|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|226.10|0|6.4|400|31
ABT|ABBOTT LABORATORIES|NYSE|Consumer, Non-cyclical|Healthcare-Products|Medical Instruments|133.20|0|5.9|232|17
ACN|ACCENTURE PLC-CL A|NYSE|Technology|Computers|Computer Services|262.50|0|3.2|164|21
ADBE|ADOBE INC|NASDAQ|Technology|Software|Applications Software|352.80|0|3.7|150|21
AIG|AMERICAN INTERNATIONAL GROUP|NYSE|Financial|Insurance|Multi-line Insurance|81.30|0|4.1|46|14
AMD|ADVANCED MICRO DEVICES|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|242.60|4391|45|394|110
AMGN|AMGEN INC|NASDAQ|Consumer, Non-cyclical|Biotechnology|Medical-Biomedical/Gene|331.70|0|2.7|178|27
AMT|AMERICAN TOWER CORP|NYSE|Financial|REITS|REITS-Diversified|186.40|0|2.5|87|58
AMZN|AMAZON.COM INC|NASDAQ|Communications|Internet|E-Commerce/Products|236.90|3691937|43|2520|34
AVGO|BROADCOM INC|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|368.20|0|22|1730|82
AXP|AMERICAN EXPRESS CO|NYSE|Financial|Diversified Finan Serv|Finance-Credit Card|364.90|0|2.9|254|24
BA|BOEING CO/THE|NYSE|Industrial|Aerospace/Defense|Aerospace/Defense|214.30|0|8.6|163|0
BAC|BANK OF AMERICA CORP|NYSE|Financial|Banks|Super-Regional Banks-US|52.40|0|38|395|14
BK|BANK OF NEW YORK MELLON CORP|NYSE|Financial|Banks|Fiduciary Banks|112.80|0|3.9|80|16
BKNG|BOOKING HOLDINGS INC|NASDAQ|Communications|Internet|E-Commerce/Services|5280.00|0|0.3|172|32
BLK|BLACKROCK INC|NYSE|Financial|Diversified Finan Serv|Invest Management/Advis Serv|1085.00|0|0.7|168|26
BMY|BRISTOL-MYERS SQUIBB CO|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|47.90|0|12|97|15
BRK B|BERKSHIRE HATHAWAY INC-CL B|NYSE|Financial|Insurance|Reinsurance|498.60|72063691|4.3|1075|16
C|CITIGROUP INC|NYSE|Financial|Banks|Diversified Banking Inst|103.20|0|15|190|13
CAT|CATERPILLAR INC|NYSE|Industrial|Machinery-Constr&Mining|Machinery-Construct&Mining|578.40|0|2.8|272|28
CHTR|CHARTER COMMUNICATIONS INC-A|NASDAQ|Communications|Media|Cable/Satellite TV|268.30|0|1.5|37|8
CL|COLGATE-PALMOLIVE CO|NYSE|Consumer, Non-cyclical|Cosmetics/Personal Care|Cosmetics&Toiletries|79.60|0|4.8|64|22
CMCSA|COMCAST CORP-CLASS A|NASDAQ|Communications|Media|Cable/Satellite TV|29.40|0|24|110|7
COF|CAPITAL ONE FINANCIAL CORP|NYSE|Financial|Diversified Finan Serv|Finance-Credit Card|228.70|0|3.9|146|18
COP|CONOCOPHILLIPS|NYSE|Energy|Oil&Gas|Oil Comp-Explor&Prodtn|92.10|0|6.8|115|13
COST|COSTCO WHOLESALE CORP|NASDAQ|Consumer, Non-cyclical|Retail|Retail-Discount|948.50|0|2.1|421|52
CRM|SALESFORCE INC|NYSE|Technology|Software|Enterprise Software/Serv|246.30|0|7.2|236|36
CSCO|CISCO SYSTEMS INC|NASDAQ|Communications|Telecommunications|Networking Products|76.80|268084|19|304|29
CVS|CVS HEALTH CORP|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Pharmacy Services|78.20|0|8.1|99|12
CVX|CHEVRON CORP|NYSE|Energy|Oil&Gas|Oil Comp-Integrated|158.90|0|8.7|318|19
DE|DEERE & CO|NYSE|Industrial|Machinery-Diversified|Machinery-Farm|486.20|0|1.4|132|24
DHR|DANAHER CORP|NYSE|Consumer, Non-cyclical|Healthcare-Products|Medical Instruments|221.40|0|3.8|158|45
DIS|WALT DISNEY CO/THE|NYSE|Communications|Media|Multimedia|114.60|6459|8.9|206|18
DUK|DUKE ENERGY CORP|NYSE|Utilities|Electric|Electric-Integrated|123.80|0|3.3|96|20
EMR|EMERSON ELECTRIC CO|NYSE|Industrial|Electrical Compo&Equip|Wire&Cable Products|138.40|0|2.9|78|34
F|FORD MOTOR CO|NYSE|Consumer, Cyclical|Auto Manufacturers|Auto-Cars/Light Trucks|13.60|0|62|54|11
FDX|FEDEX CORP|NYSE|Industrial|Transportation|Transport-Services|268.90|0|1.9|64|15
GD|GENERAL DYNAMICS CORP|NYSE|Industrial|Aerospace/Defense|Aerospace/Defense Equip|342.10|0|1.2|92|23
GE|GE AEROSPACE|NYSE|Industrial|Aerospace/Defense|Aerospace/Defense Equip|302.70|0|5.6|321|41
GILD|GILEAD SCIENCES INC|NASDAQ|Consumer, Non-cyclical|Biotechnology|Medical-Biomedical/Gene|121.50|0|7.4|151|19
GM|GENERAL MOTORS CO|NYSE|Consumer, Cyclical|Auto Manufacturers|Auto-Cars/Light Trucks|68.30|0|10|65|8
GOOG|ALPHABET INC-CL C|NASDAQ|Communications|Internet|Web Portals/ISP|318.20|208813720|24|3850|29
GOOGL|ALPHABET INC-CL A|NASDAQ|Communications|Internet|Web Portals/ISP|316.90|208813719|33|3850|29
GS|GOLDMAN SACHS GROUP INC|NYSE|Financial|Banks|Super-Regional Banks-US|812.50|0|2.1|248|17
HD|HOME DEPOT INC|NYSE|Consumer, Cyclical|Retail|Retail-Building Products|376.40|0|3.5|375|25
HON|HONEYWELL INTERNATIONAL INC|NASDAQ|Industrial|Miscellaneous Manufactur|Diversified Manufact Op|206.80|0|3.6|131|23
IBM|INTL BUSINESS MACHINES CORP|NYSE|Technology|Computers|Computer Services|305.20|8314|4.4|284|34
INTC|INTEL CORP|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|38.60|270639|68|169|0
INTU|INTUIT INC|NASDAQ|Technology|Software|Applications Software|668.40|0|1.6|187|55
ISRG|INTUITIVE SURGICAL INC|NASDAQ|Consumer, Non-cyclical|Healthcare-Products|Medical Instruments|548.90|0|1.9|197|72
JNJ|JOHNSON & JOHNSON|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|198.70|8719|7.6|478|19
JPM|JPMORGAN CHASE & CO|NYSE|Financial|Banks|Diversified Banking Inst|312.40|1520593|9.1|858|15
KO|COCA-COLA CO/THE|NYSE|Consumer, Non-cyclical|Beverages|Beverages-Non-alcoholic|70.20|8894|14|302|23
LIN|LINDE PLC|NASDAQ|Basic Materials|Chemicals|Chemicals-Diversified|438.60|0|2.1|206|31
LLY|ELI LILLY & CO|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|1012.00|0|3.9|958|48
LMT|LOCKHEED MARTIN CORP|NYSE|Industrial|Aerospace/Defense|Aerospace/Defense|482.30|0|1.4|113|21
LOW|LOWE'S COS INC|NYSE|Consumer, Cyclical|Retail|Retail-Building Products|248.60|0|2.8|139|21
MA|MASTERCARD INC - A|NYSE|Financial|Diversified Finan Serv|Finance-Credit Card|576.30|0|2.7|525|37
MCD|MCDONALD'S CORP|NYSE|Consumer, Cyclical|Retail|Retail-Restaurants|304.10|9408|3.4|217|26
MDLZ|MONDELEZ INTERNATIONAL INC-A|NASDAQ|Consumer, Non-cyclical|Food|Food-Confectionery|61.40|0|8.7|79|22
MDT|MEDTRONIC PLC|NYSE|Consumer, Non-cyclical|Healthcare-Products|Medical Products|98.30|0|6.2|126|27
MET|METLIFE INC|NYSE|Financial|Insurance|Multi-line Insurance|82.70|0|3.4|55|13
META|META PLATFORMS INC-CLASS A|NASDAQ|Communications|Internet|Internet Content-Entmnt|688.50|107113386|13|1735|27
MMM|3M CO|NYSE|Industrial|Miscellaneous Manufactur|Diversified Manufact Op|168.20|0|3.1|90|21
MO|ALTRIA GROUP INC|NYSE|Consumer, Non-cyclical|Agriculture|Tobacco|61.30|0|7.9|103|12
MRK|MERCK & CO. INC.|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|96.80|0|11|242|13
MS|MORGAN STANLEY|NYSE|Financial|Banks|Super-Regional Banks-US|168.90|0|5.8|270|18
MSFT|MICROSOFT CORP|NASDAQ|Technology|Software|Applications Software|512.30|272093|21|3810|37
NEE|NEXTERA ENERGY INC|NYSE|Utilities|Electric|Electric-Integrated|84.60|0|9.6|174|27
NFLX|NETFLIX INC|NASDAQ|Communications|Internet|Internet Content-Entmnt|118.40|15124833|32|502|48
NKE|NIKE INC -CL B|NYSE|Consumer, Cyclical|Apparel|Athletic Footwear|68.90|0|12|102|32
NOW|SERVICENOW INC|NYSE|Technology|Software|Computer Services|912.70|0|1.3|189|110
NVDA|NVIDIA CORP|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|192.80|4815747|185|4690|52
ORCL|ORACLE CORP|NYSE|Technology|Software|Enterprise Software/Serv|236.40|272800|14|664|52
PEP|PEPSICO INC|NASDAQ|Consumer, Non-cyclical|Beverages|Beverages-Non-alcoholic|148.30|0|6.9|203|22
PFE|PFIZER INC|NYSE|Consumer, Non-cyclical|Pharmaceuticals|Medical-Drugs|25.60|0|39|145|14
PG|PROCTER & GAMBLE CO/THE|NYSE|Consumer, Non-cyclical|Cosmetics/Personal Care|Cosmetics&Toiletries|152.40|0|7.1|357|23
PLTR|PALANTIR TECHNOLOGIES INC-A|NASDAQ|Technology|Software|Applications Software|178.60|0|58|422|0
PM|PHILIP MORRIS INTERNATIONAL|NYSE|Consumer, Non-cyclical|Agriculture|Tobacco|158.70|0|5.6|247|24
PYPL|PAYPAL HOLDINGS INC|NASDAQ|Financial|Diversified Finan Serv|Finance-Credit Card|68.40|0|11|66|14
QCOM|QUALCOMM INC|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|171.30|0|8.2|187|17
RTX|RTX CORP|NYSE|Industrial|Aerospace/Defense|Aerospace/Defense Equip|172.50|0|5.1|231|35
SBUX|STARBUCKS CORP|NASDAQ|Consumer, Cyclical|Retail|Retail-Restaurants|86.20|0|9.4|98|34
SCHW|SCHWAB (CHARLES) CORP|NYSE|Financial|Diversified Finan Serv|Finance-Invest Bnkr/Brkr|96.40|0|8.3|175|24
SO|SOUTHERN CO/THE|NYSE|Utilities|Electric|Electric-Integrated|94.20|0|4.6|104|22
SPG|SIMON PROPERTY GROUP INC|NYSE|Financial|REITS|REITS-Regional Malls|182.60|0|1.5|60|28
T|AT&T INC|NYSE|Communications|Telecommunications|Telephone-Integrated|27.10|0|33|194|16
TGT|TARGET CORP|NYSE|Consumer, Cyclical|Retail|Retail-Discount|96.30|0|5.9|44|11
TMO|THERMO FISHER SCIENTIFIC INC|NYSE|Consumer, Non-cyclical|Healthcare-Products|Instruments-Scientific|574.20|0|1.9|217|33
TMUS|T-MOBILE US INC|NASDAQ|Communications|Telecommunications|Cellular Telecom|228.60|0|4.1|257|22
TSLA|TESLA INC|NASDAQ|Consumer, Cyclical|Auto Manufacturers|Auto-Cars/Light Trucks|432.50|76792991|95|1440|180
TXN|TEXAS INSTRUMENTS INC|NASDAQ|Technology|Semiconductors|Electronic Compo-Semicon|178.40|0|6.4|162|33
UBER|UBER TECHNOLOGIES INC|NYSE|Industrial|Transportation|Transport-Services|94.80|0|17|198|16
UNH|UNITEDHEALTH GROUP INC|NYSE|Consumer, Non-cyclical|Healthcare-Services|Medical-HMO|338.70|0|9.8|307|17
UNP|UNION PACIFIC CORP|NYSE|Industrial|Transportation|Transport-Rail|232.60|0|2.9|138|20
UPS|UNITED PARCEL SERVICE-CL B|NYSE|Industrial|Transportation|Transport-Services|92.40|0|6.3|78|14
USB|US BANCORP|NYSE|Financial|Banks|Super-Regional Banks-US|49.80|0|8.1|78|12
V|VISA INC-CLASS A SHARES|NYSE|Financial|Diversified Finan Serv|Finance-Credit Card|352.10|49462172|6.4|680|33
VZ|VERIZON COMMUNICATIONS INC|NYSE|Communications|Telecommunications|Telephone-Integrated|41.20|0|17|174|10
WFC|WELLS FARGO & CO|NYSE|Financial|Banks|Super-Regional Banks-US|86.30|0|15|278|14
WMT|WALMART INC|NASDAQ|Consumer, Non-cyclical|Retail|Retail-Discount|108.40|13824|18|866|40
XOM|EXXON MOBIL CORP|NYSE|Energy|Oil&Gas|Oil Comp-Integrated|116.90|13977|15|498|16
`;

/** ETFs (IB lists them as STK). Same columns. */
export const ETFS = `
SPY|SPDR S&P 500 ETF TRUST|ARCA|Funds|Equity Fund|Growth&Income-Large Cap|688.20|756733|62|0|0
QQQ|INVESCO QQQ TRUST SERIES 1|NASDAQ|Funds|Equity Fund|Growth-Large Cap|622.40|320227571|41|0|0
IWM|ISHARES RUSSELL 2000 ETF|ARCA|Funds|Equity Fund|Small Cap|248.30|9579970|31|0|0
DIA|SPDR DJIA TRUST|ARCA|Funds|Equity Fund|Growth&Income-Large Cap|478.60|73128548|3.2|0|0
GLD|SPDR GOLD SHARES|ARCA|Funds|Commodity Fund|Precious Metals|382.70|51529211|9.8|0|0
TLT|ISHARES 20+ YEAR TREASURY BD|NASDAQ|Funds|Debt Fund|US Government|89.40|15547841|33|0|0
XLF|FINANCIAL SELECT SECTOR SPDR|ARCA|Funds|Equity Fund|Sector Fund-Financial|54.80|0|38|0|0
XLK|TECHNOLOGY SELECT SECT SPDR|ARCA|Funds|Equity Fund|Sector Fund-Technology|288.60|0|7.9|0|0
XLE|ENERGY SELECT SECTOR SPDR|ARCA|Funds|Equity Fund|Sector Fund-Energy|91.20|0|14|0|0
XLV|HEALTH CARE SELECT SECTOR|ARCA|Funds|Equity Fund|Sector Fund-Health Care|146.30|0|8.6|0|0
EEM|ISHARES MSCI EMERGING MARKET|ARCA|Funds|Equity Fund|Emerging Market|54.10|0|26|0|0
EFA|ISHARES MSCI EAFE ETF|ARCA|Funds|Equity Fund|International|94.70|0|15|0|0
VTI|VANGUARD TOTAL STOCK MKT ETF|ARCA|Funds|Equity Fund|Growth&Income-Large Cap|338.90|0|3.6|0|0
HYG|ISHARES IBOXX HIGH YLD CORP|ARCA|Funds|Debt Fund|Corporate/Preferred-High Yield|80.70|0|34|0|0
SMH|VANECK SEMICONDUCTOR ETF|NASDAQ|Funds|Equity Fund|Sector Fund-Technology|342.10|0|7.1|0|0
`;
